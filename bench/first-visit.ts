/**
 * The first visit of a chain, in one process: `node dist/bench/first-visit.js DUMP [--keep]`
 * parses a kube-proxy dump, then binds and compiles every rule of its per-service chains
 * (KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-*, KUBE-FW-*) once, as the first packet to each service
 * would, and prints the µs per rule and (with --keep, under --expose-gc) the heap each
 * compiled rule keeps alive.
 */
import { readFileSync } from "node:fs";
import { parseRules } from "../src/parse.js";
import { compileRulesets, type CompiledChain } from "../src/netfilter/compile.js";

const PER_SERVICE = /^KUBE-(SVC|SEP|EXT|FW)-/;

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function main(): void {
  const [file, ...flags] = process.argv.slice(2);
  if (!file) throw new Error("usage: first-visit DUMP [--keep]");
  const ast = parseRules(readFileSync(file, "utf8")).value;
  const compiled = compileRulesets([ast], "ipv4");
  const chains: CompiledChain[] = [];
  for (const t of compiled.tables.values()) {
    for (const name of t.chains.keys()) if (PER_SERVICE.test(name)) chains.push(t.chains.get(name)!);
  }
  const before = heap();
  const t0 = process.cpuUsage();
  let rules = 0;
  const kept: unknown[] = [];
  for (const c of chains) {
    const list = c.rules;
    for (let i = 0; i < list.length; i++) kept.push(list[i]);
    rules += list.length;
  }
  const cpu = process.cpuUsage(t0);
  const us = (cpu.user + cpu.system) / rules;
  const after = heap();
  const line = [`chains ${chains.length}`, `rules ${rules}`, `first visit ${us.toFixed(2)} µs/rule`];
  if (flags.includes("--keep")) line.push(`kept ${((after - before) / rules / 1024).toFixed(2)} KB/rule`);
  console.log(line.join(", "));
  if (kept.length !== rules) throw new Error("unreachable");
}

main();
