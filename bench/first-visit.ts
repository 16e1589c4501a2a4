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
import type { ChainRules } from "../src/model/ast.js";

const PER_SERVICE = /^KUBE-(SVC|SEP|EXT|FW)-/;

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function cpuSince(t0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

function main(): void {
  const [file, ...flags] = process.argv.slice(2);
  if (!file) throw new Error("usage: first-visit DUMP [--keep]");
  const ast = parseRules(readFileSync(file, "utf8")).value;
  const compiled = compileRulesets([ast], "ipv4");
  const chains: CompiledChain[] = [];
  const sources: ChainRules[] = [];
  for (const t of ast.tables) for (const c of t.chains) if (PER_SERVICE.test(c.name)) sources.push(c.rules);
  for (const t of compiled.tables.values()) {
    for (const name of t.chains.keys()) if (PER_SERVICE.test(name)) chains.push(t.chains.get(name)!);
  }
  const h0 = heap();
  // Binding first, then compiling: what the first visit of a chain does, in two parts.
  let t0 = process.cpuUsage();
  let rules = 0;
  for (const r of sources) rules += r.load().length;
  const bind = cpuSince(t0);
  const h1 = heap();
  t0 = process.cpuUsage();
  const kept: unknown[] = [];
  for (const c of chains) {
    const list = c.rules;
    for (let i = 0; i < list.length; i++) kept.push(list[i]);
  }
  const compile = cpuSince(t0);
  const h2 = heap();
  const per = (x: number) => (x / rules).toFixed(2);
  const line = [`chains ${chains.length}`, `rules ${rules}`, `first visit ${per(bind + compile)} µs/rule (bind ${per(bind)}, compile ${per(compile)})`];
  if (flags.includes("--keep")) line.push(`kept ${per((h2 - h0) / 1024)} KB/rule (bound ${per((h1 - h0) / 1024)}, compiled ${per((h2 - h1 - kept.length * 8) / 1024)})`);
  console.log(line.join(", "));
  if (kept.length !== rules) throw new Error(`${kept.length} compiled, ${rules} bound`);
}

main();
