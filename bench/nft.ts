/**
 * The nftables part of `npm run bench` (`npm run bench -- nft` runs it alone): kube-proxy's
 * nftables mode at 10,000 services, read by netfate (whole process, `parse --summary`) from
 * `nft list ruleset` text and from `nft -j list ruleset` JSON, side by side with the reference
 * `nft -c -f` takes to check the same ruleset; then what a packet costs against the nftables
 * mode and against the iptables mode of the same services, in the same run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeNftDump } from "./gen-kube-nft.js";
import { kubeProxyDump } from "./gen-kube-proxy.js";
import { nftCheckSeconds } from "./nft-check.js";
import { parseRules } from "../src/parse.js";
import { parseNftText } from "../src/nft/text/index.js";
import { buildNode, type NetfilterNode } from "../src/netfilter/model.js";
import type { NodeView } from "../src/model/evaluation.js";
import type { PacketSpec } from "../src/model/packet.js";

type Measure = (cmd: string, args: string[], runs: number) => { ms: number; rssMB?: number; ok: boolean };
type Row = (cells: (string | number)[]) => string;

const SERVICES = 10_000;

function file(out: string, name: string, make: () => string): string {
  mkdirSync(out, { recursive: true });
  const f = join(out, name);
  if (!existsSync(f)) writeFileSync(f, make());
  return f;
}

/** `nft -j list ruleset` of the ruleset loaded in a namespace of its own: the JSON as nft writes it (root only). */
function kernelJson(textFile: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ns = `netfate-bench-json${process.pid}`;
  spawnSync("ip", ["netns", "add", ns]);
  try {
    const load = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", textFile], { encoding: "utf8" });
    if (load.status !== 0) return undefined;
    const r = spawnSync("ip", ["netns", "exec", ns, "nft", "-j", "list", "ruleset"], { encoding: "utf8", maxBuffer: 1 << 28 });
    return r.status === 0 ? r.stdout : undefined;
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

/** µs per packet for the first, middle and last service's ClusterIP, after the JIT has settled. */
function perPacket(n: NetfilterNode, dsts: readonly string[]): number[] {
  return [dsts[0]!, dsts[Math.floor(dsts.length / 2)]!, dsts[dsts.length - 1]!].map((dst) => {
    const p: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst, proto: 6, sport: 40000, dport: 80, tcpFlags: 2 };
    for (let i = 0; i < 3000; i++) n.evaluate(p);
    const N = 5000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) n.evaluate(p);
    return ((performance.now() - t0) * 1000) / N;
  });
}

export function nftBench(out: string, cli: string, node: NodeView, measure: Measure, row: Row): void {
  const text = file(out, `kube-nft-${SERVICES}.nft`, () => kubeNftDump({ services: SERVICES }));
  const jsonText = existsSync(join(out, `kube-nft-${SERVICES}.json`)) ? "" : kernelJson(text);
  const json = jsonText === undefined ? undefined : file(out, `kube-nft-${SERVICES}.json`, () => jsonText);
  const check = nftCheckSeconds(text);
  const checkMs = typeof check === "number" ? check * 1000 : undefined;
  console.log(row(["nftables (kube-proxy nft mode)", "MB", "ms", "× nft -c -f", "peak RSS MB"]));
  console.log(row([`nft -c -f, ${SERVICES / 1000}k services`, (readFileSync(text).length / 1e6).toFixed(1), checkMs?.toFixed(0) ?? String(check), "1.00", ""]));
  for (const [name, f] of [["netfate parse, list text", text], ...(json ? [["netfate parse, JSON", json] as const] : [])] as const) {
    const r = measure(process.execPath, [cli, "parse", "--summary", "--quiet", f], 3);
    const ratio = checkMs !== undefined ? (r.ms / checkMs).toFixed(2) : "?";
    console.log(row([name, (readFileSync(f).length / 1e6).toFixed(1), r.ok ? r.ms.toFixed(0) : "failed", ratio, r.rssMB?.toFixed(0) ?? "?"]));
  }
  // The same services in both modes: what a packet costs in each, measured in this run.
  const nft = parseNftText(readFileSync(text, "utf8"), text).ruleset;
  const ipt = parseRules(kubeProxyDump({ services: SERVICES })).value;
  const dsts = readFileSync(text, "utf8").match(/^\s+(?:elements = \{ )?(10\.\d+\.\d+\.\d+) \. tcp \. 80 : goto service-/gm)?.map((l) => /(10\.\d+\.\d+\.\d+)/.exec(l)![1]!) ?? [];
  const a = perPacket(buildNode({ rulesets: [], nft: [nft], node }), dsts);
  const b = perPacket(buildNode({ rulesets: [ipt], node }), dsts);
  console.log();
  console.log(row(["evaluate (10k services)", "first µs", "middle µs", "last µs", "× iptables"]));
  console.log(row(["iptables mode", ...b.map((x) => x.toFixed(1)), "1.00"]));
  console.log(row(["nftables mode", ...a.map((x) => x.toFixed(1)), (a.reduce((s, x) => s + x, 0) / b.reduce((s, x) => s + x, 0)).toFixed(2)]));
  console.log();
}
