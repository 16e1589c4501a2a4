/**
 * What the tunnel kernel tests share: commands in a namespace, two namespaces joined by a veth
 * (two nodes on one underlay), and the packet counters of iptables rules that stand as probes.
 */
import { spawnSync } from "node:child_process";

export function run(args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
export const inNs = (ns: string, ...a: string[]): string => run(["ip", "netns", "exec", ns, ...a]);
export const ipn = (ns: string, ...a: string[]): string => run(["ip", "-n", ns, ...a]);

/** Two namespaces, each with lo up and one end of a veth (`devA`/`devB`) holding its address. */
export function nodePair(a: { ns: string; dev: string; addr: string }, b: { ns: string; dev: string; addr: string }): void {
  for (const n of [a, b]) {
    run(["ip", "netns", "add", n.ns]);
    ipn(n.ns, "link", "set", "lo", "up");
  }
  run(["ip", "link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns]);
  for (const n of [a, b]) {
    ipn(n.ns, "addr", "add", n.addr, "dev", n.dev);
    ipn(n.ns, "link", "set", n.dev, "up");
  }
}

export function dropNamespaces(...names: string[]): void {
  for (const ns of names) spawnSync("ip", ["netns", "del", ns]);
}

/** Packets counted by the rule numbered `n` (1-based) of a chain. */
export function counted(ns: string, table: string, chain: string, n: number): number {
  const lines = inNs(ns, "iptables", "-t", table, "-L", chain, "-v", "-n", "-x").trim().split("\n").slice(2);
  return Number(lines[n - 1]!.trim().split(/\s+/)[0]);
}
