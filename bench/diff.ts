/**
 * The diff part of `npm run bench`: `netfate diff` of
 * two generated kube-proxy dumps of 10,000 services, the second changed as a node's rules
 * change between two days (kubeProxyPair), whole process, side by side with
 * `iptables-restore --test` of one of the dumps in the same run.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeProxyDump } from "./gen-kube-proxy.js";

type Measure = (cmd: string, args: string[], runs: number, stdin?: string, discardOutput?: boolean) => { ms: number; rssMB?: number; ok: boolean };
type Row = (cells: (string | number)[]) => string;

const SERVICES = 10_000;

/** The node both dumps are of: pods behind cni0, the world behind eth0, forwarding on. */
export const DIFF_NODE = JSON.stringify({
  interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }, { name: "cni0", addrs: ["10.244.0.1/16"] }],
  routes: ["default via 192.168.0.1 dev eth0"],
  sysctl: { "net.ipv4.ip_forward": 1 },
});

/** The generator's endpoint address for endpoint `i`, as kubeProxyDump lays it out by default. */
function endpointAddress(i: number): string {
  const n = (i % 65000) + 2;
  return `10.244.${(n >> 8) & 255}.${n & 255}`;
}

/** Every chain of service `s` (its SVC, EXT and SEP chains): those its rules' comments name. */
function serviceChains(lines: readonly string[], s: number): Set<string> {
  const tag = `/svc${s}:http`;
  const chains = new Set<string>();
  for (const l of lines) {
    if (!l.includes(tag)) continue;
    for (const m of l.matchAll(/(?:-A|-j) (KUBE-(?:SVC|EXT|SEP)-[A-Z0-9]+)/g)) chains.add(m[1]!);
  }
  return chains;
}

/** The lines that declare, fill or jump to one of `chains`, left out. */
function withoutChains(lines: readonly string[], chains: ReadonlySet<string>): string[] {
  return lines.filter((l) => {
    const m = /^(?::|-A )(\S+)/.exec(l);
    if (m && chains.has(m[1]!)) return false;
    const j = / -j (\S+)$/.exec(l);
    return !(j && chains.has(j[1]!));
  });
}

/**
 * Two dumps of one node a day apart: `old` has `services` services; `new` has some of them
 * removed and a few added, some endpoints moved to other pods, one NodePort dropped (its rule
 * and its KUBE-EXT chain), two service portals swapped in KUBE-SERVICES (a reorder that
 * changes no fate) and one service's endpoint rules reordered (which changes the chances of
 * its endpoints). Each change is spread over the services, so a small pair has each too.
 */
export function kubeProxyPair(services: number): { old: string; new: string } {
  const old = kubeProxyDump({ services });
  const step = Math.max(1, Math.floor(services / 8));
  const added = Math.max(2, Math.floor(services / 400));
  // Endpoints of every `step`th service but the first move to addresses no other pod has.
  const moved = new Set<number>();
  for (let s = 1; s < services; s += step) moved.add(s * 3 + (s % 3));
  const lines = kubeProxyDump({
    services: services + added,
    endpointAddress: (i) => (moved.has(i) ? endpointAddress(i + 40_000) : endpointAddress(i)),
  }).split("\n");
  // Removed: every `step`th service from the middle on.
  const gone = new Set<string>();
  for (let s = Math.floor(step / 2) + 1; s < services; s += step) for (const c of serviceChains(lines, s)) gone.add(c);
  // A NodePort dropped: service 4's (every fourth service has one), rule and KUBE-EXT chain.
  for (const c of serviceChains(lines, 4)) if (c.startsWith("KUBE-EXT-")) gone.add(c);
  let out = withoutChains(lines, gone);
  // Two service portals swapped: disjoint destinations, so no packet's fate changes.
  const portal = (s: number) => out.findIndex((l) => l.startsWith("-A KUBE-SERVICES ") && l.includes(`/svc${s}:http cluster IP`));
  const [a, b] = [portal(2), portal(3)];
  if (a >= 0 && b >= 0) [out[a], out[b]] = [out[b]!, out[a]!];
  // Service 5's first two endpoint rules swapped with their probabilities: 1/3 and 1/2 now.
  const svc5 = [...serviceChains(out, 5)].find((c) => c.startsWith("KUBE-SVC-"));
  const firstSep = out.findIndex((l) => l.startsWith(`-A ${svc5} `) && / -j KUBE-SEP-/.test(l));
  if (svc5 && firstSep >= 0) out = [...out.slice(0, firstSep), out[firstSep + 1]!, out[firstSep]!, ...out.slice(firstSep + 2)];
  return { old, new: out.join("\n") };
}

/** The pair's files (and the node's) under `dir`, written once. */
export function pairFiles(dir: string, services: number): { old: string; new: string; node: string } {
  mkdirSync(dir, { recursive: true });
  const f = { old: join(dir, `kube-proxy-${services}-old.save`), new: join(dir, `kube-proxy-${services}-new.save`), node: join(dir, "diff-node.json") };
  if (!existsSync(f.new)) {
    const pair = kubeProxyPair(services);
    writeFileSync(f.old, pair.old);
    writeFileSync(f.new, pair.new);
  }
  if (!existsSync(f.node)) writeFileSync(f.node, DIFF_NODE);
  return f;
}

/**
 * Whole process, best of three: `netfate diff` of the 10k pair (as it runs, then on one thread)
 * and `iptables-restore --test` of the old dump (the reference, as for parsing), in the same run.
 */
export function diffBench(out: string, cli: string, measure: Measure, row: Row, restore: (file: string) => { ms: number } | string): void {
  const f = pairFiles(out, SERVICES);
  console.log(row(["diff (whole process, 10k pair)", "ms", "restore ms", "ratio", "peak RSS MB"]));
  const ipt = restore(f.old);
  const ref = typeof ipt === "string" ? ipt : ipt.ms.toFixed(0);
  // As run (one thread), then with the helper thread of --threads 2.
  for (const [label, extra] of [["", []], [", --threads 2", ["--threads", "2"]]] as const) {
    const r = measure(process.execPath, [cli, "diff", "-q", ...extra, "--node", f.node, f.old, f.new], 3, undefined, true);
    const ratio = typeof ipt === "string" ? "" : (r.ms / ipt.ms).toFixed(1);
    // diff exits 1 when some packet differs, as it should here: the time counts, not the status.
    console.log(row([`${SERVICES / 1000}k services, changed${label}`, r.ms.toFixed(0), ref, ratio, r.rssMB?.toFixed(0) ?? "?"]));
  }
  console.log();
}
