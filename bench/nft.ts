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

export const SERVICES = 10_000;

/**
 * The filter table kube-proxy's iptables mode (1.28+) installs beside its nat rules, with no
 * service lacking endpoints (so its per-service chains are empty): the generated iptables dump
 * has the nat table only, while the nftables mode's table holds its filter chains too. A packet's
 * cost is compared on both, the like-for-like row being this one.
 */
const KUBE_FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -m comment --comment "kubernetes forwarding rules" -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

export function file(out: string, name: string, make: () => string): string {
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
export function perPacket(n: NetfilterNode, dsts: readonly string[]): number[] {
  return [dsts[0]!, dsts[Math.floor(dsts.length / 2)]!, dsts[dsts.length - 1]!].map((dst) => {
    const p: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst, proto: 6, sport: 40000, dport: 80, tcpFlags: 2 };
    for (let i = 0; i < 3000; i++) n.evaluate(p);
    const N = 5000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) n.evaluate(p);
    return ((performance.now() - t0) * 1000) / N;
  });
}

/** The three nodes of the per-packet comparison, built from the nft dump `text` and the same services' iptables dump, and the cluster IPs to send to. */
export function packetNodes(text: string, node: NodeView): { nft: NetfilterNode; ipt: NetfilterNode; iptFull: NetfilterNode; dsts: string[] } {
  const nftText = readFileSync(text, "utf8");
  const nft = parseNftText(nftText, text).ruleset;
  const iptText = kubeProxyDump({ services: SERVICES });
  const ipt = parseRules(iptText).value;
  const iptFull = parseRules(KUBE_FILTER + iptText).value;
  const dsts = nftText.match(/^\s+(?:elements = \{ )?(10\.\d+\.\d+\.\d+) \. tcp \. 80 : goto service-/gm)?.map((l) => /(10\.\d+\.\d+\.\d+)/.exec(l)![1]!) ?? [];
  return {
    nft: buildNode({ rulesets: [], nft: [nft], node }),
    ipt: buildNode({ rulesets: [ipt], node }),
    iptFull: buildNode({ rulesets: [iptFull], node }),
    dsts,
  };
}

/** µs per packet (first, middle, last service) in the nftables mode and in the iptables mode without and with its filter table. */
export function packetCosts(text: string, node: NodeView): { nft: number[]; ipt: number[]; iptFull: number[] } {
  const n = packetNodes(text, node);
  return { nft: perPacket(n.nft, n.dsts), ipt: perPacket(n.ipt, n.dsts), iptFull: perPacket(n.iptFull, n.dsts) };
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
  const { nft: a, ipt: b, iptFull: c } = packetCosts(text, node);
  const sum = (x: number[]) => x.reduce((s, v) => s + v, 0);
  console.log();
  console.log(row(["evaluate (10k services)", "first µs", "middle µs", "last µs", "× iptables"]));
  console.log(row(["iptables mode, nat table only", ...b.map((x) => x.toFixed(1)), (sum(b) / sum(c)).toFixed(2)]));
  console.log(row(["iptables mode, with its filter", ...c.map((x) => x.toFixed(1)), "1.00"]));
  console.log(row(["nftables mode", ...a.map((x) => x.toFixed(1)), (sum(a) / sum(c)).toFixed(2)]));
  console.log();
}
