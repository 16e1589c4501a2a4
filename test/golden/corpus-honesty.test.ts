/**
 * No answer claims what the input does not say. Every real dump of ../shared/corpus is
 * evaluated with packets drawn from its own constants, once without node facts and once with a
 * small node, and an independent check reads each outcome: a definite fate (delivered,
 * forwarded, sent, dropped, rejected, unroutable) may rest only on chains the input declares,
 * on policies it states, on tables it has or names as assumed, and — without node facts — never
 * on a routing decision. Dumps with errors are evaluated without the lines in error, as
 * `--keep-going` does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { buildNode } from "../../src/netfilter/model.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import { BUILTIN_CHAINS, isUnknown, TABLE_NAMES, type Ruleset } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { hasShared, sharedNotice, sharedPath, needsShared } from "../support/shared.js";

const corpus = sharedPath("corpus");

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith(".txt") && n !== "SOURCES.md" ? [p] : [];
  });
}

const definite = new Set(["delivered", "forwarded", "sent", "dropped", "rejected", "unroutable"]);
const routed = new Set(["delivered", "forwarded", "sent", "unroutable"]);

const ORDER = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/** The hooks a packet with this fate went through, derived from the fate alone (not from the steps). */
function hooksOf(o: Outcome, p: PacketSpec): string[] {
  const f = o.fate;
  // A send the kernel refuses (no route, or a TCP connect to a broadcast or multicast address) meets no hook.
  if (p.from === "local" && f.kind === "unroutable") return [];
  const full =
    p.from === "local"
      ? f.kind === "delivered" ? ["OUTPUT", "POSTROUTING", "PREROUTING", "INPUT"] : ["OUTPUT", "POSTROUTING"]
      : f.kind === "delivered" ? ["PREROUTING", "INPUT"] : f.kind === "unroutable" ? ["PREROUTING"] : ["PREROUTING", "FORWARD", "POSTROUTING"];
  if (f.kind === "dropped" || f.kind === "rejected") {
    const at = full.indexOf(f.hook);
    return at >= 0 ? full.slice(0, at + 1) : ORDER.slice(0, ORDER.indexOf(f.hook) + 1);
  }
  return full;
}

/** Why an outcome claims more than the rulesets say, or undefined when it does not. */
function overclaim(o: Outcome, p: PacketSpec, rulesets: readonly Ruleset[], nodeKnown: boolean): string | undefined {
  if (!definite.has(o.fate.kind)) return undefined;
  const family = rulesets[0]?.family;
  const tables = rulesets.filter((r) => r.family === family).flatMap((r) => r.tables);
  const complete = rulesets.every((r) => r.format === "save") && tables.every((t) => t.committed);
  // Every built-in chain on the way: shown, or (a table the input lacks) assumed out loud. The
  // nat table is left out: it is consulted only for a connection's first packet, with conntrack on.
  if (!complete) {
    const hooks = hooksOf(o, p);
    for (const [k, hook] of hooks.entries()) {
      for (const name of TABLE_NAMES) {
        if (name === "nat" || !BUILTIN_CHAINS[name].includes(hook)) continue;
        // Where the packet was dropped, the tables after the dropping one (in priority order) never saw it.
        const f = o.fate;
        if (k === hooks.length - 1 && (f.kind === "dropped" || f.kind === "rejected") && f.table !== "ipvs" && f.table !== "nft" && TABLE_NAMES.indexOf(name) > TABLE_NAMES.indexOf(f.table)) continue;
        const ofTable = tables.filter((t) => t.name === name);
        if (ofTable.length === 0) {
          if (!o.assumptions.some((a) => a.startsWith(`table ${name} is not in the input`))) return `passed ${hook} of table ${name}, which the input does not have, without saying so`;
        } else if (!ofTable.some((t) => t.chains.some((c) => c.name === hook && c.declared))) return `passed ${name} ${hook}, a chain the input does not show`;
      }
    }
  }
  for (const s of o.steps) {
    const ofTable = tables.filter((t) => t.name === s.table);
    if (ofTable.length === 0) {
      if (!complete && !o.assumptions.some((a) => a.startsWith(`table ${s.table} is not in the input`))) return `step in table ${s.table}, which the input does not have, without saying so`;
      continue;
    }
    const chain = ofTable.flatMap((t) => t.chains).find((c) => c.name === s.chain && c.declared);
    if (!chain) return `step in ${s.table} ${s.chain}, a chain the input does not declare`;
    if (s.rule === "policy" && (chain.policy === null || isUnknown(chain.policy))) return `policy of ${s.table} ${s.chain}, which the input does not state`;
  }
  if (!nodeKnown && routed.has(o.fate.kind)) return `a routing decision (${o.fate.kind}) without node facts`;
  return undefined;
}

describe.skipIf(!hasShared)(needsShared("every corpus dump: no fate that rests on what the input does not say"), () => {
  const all = files(corpus);
  it("finds the corpus", () => {
    expect(all.length, sharedNotice("corpus")).toBeGreaterThan(50);
  });
  const node = simpleNode({ addrs: { eth0: ["10.0.0.1/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "10.0.0.254" }] });
  let evaluated = 0;
  for (const file of all) {
    const name = relative(corpus, file);
    it(name, () => {
      const r = readInput(readFileSync(file, "utf8"), { file: name });
      const rulesets = rulesetsOf(r.input);
      if (rulesets.length === 0) return; // an ipset or facts file: nothing to evaluate
      const packets = candidatePackets([rulesets], { max: 40, random: 8, seed: 11 });
      for (const family of new Set(rulesets.map((x) => x.family))) {
        const ofFamily = rulesets.filter((x) => x.family === family);
        // (the small test node is IPv4 only)
        const views = family === "ipv4" ? ([[undefined, false], [node, true]] as const) : ([[undefined, false]] as const);
        for (const [view, known] of views) {
          const n = buildNode({ rulesets: ofFamily, ...(view ? { node: view } : {}) });
          for (const p of packets.filter((q) => q.family === family)) {
            for (const o of n.evaluate(p).outcomes) {
              const why = overclaim(o, p, ofFamily, known);
              expect(why, `${name}: ${JSON.stringify(p)} → ${JSON.stringify(o.fate)}`).toBeUndefined();
              evaluated++;
            }
          }
        }
      }
    });
  }
  it("evaluated outcomes from the corpus", () => {
    expect(evaluated).toBeGreaterThan(1000);
  });
});
