/**
 * No input crashes or hangs any reader — listings, ipset save/list, node facts, packets,
 * mixed texts — and every diagnostic points inside its input. The seeds are real outputs
 * (../shared/reference and the node fixtures), truncated, glued and sprinkled with bytes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readInput } from "../../src/inputs.js";
import { parseIpsets } from "../../src/ipset/parse.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { Diagnostic } from "../../src/model/diagnostics.js";
import { hasShared, listShared, readShared, sections } from "../support/shared.js";

function located(text: string, diagnostics: readonly Diagnostic[]): void {
  const lines = text.split("\n").length;
  for (const d of diagnostics) {
    expect(d.line, d.message).toBeGreaterThanOrEqual(1);
    expect(d.line, d.message).toBeLessThanOrEqual(lines);
    expect(d.col, d.message).toBeGreaterThanOrEqual(1);
  }
}

const listings: string[] = [];
const ipsets: string[] = [];
if (hasShared) {
  for (const f of listShared("reference/iptables", ".txt")) {
    const s = sections(readShared("reference/iptables", f));
    for (const k of ["L", "nL", "nvL", "nvxL --line-numbers"]) if (s.get(k)) listings.push(s.get(k)!);
  }
  for (const f of listShared("reference/ipset", ".txt")) {
    const s = sections(readShared("reference/ipset", f));
    for (const [k, v] of s) if (k !== "restore" && k !== "meta") ipsets.push(v);
  }
}
if (listings.length === 0) listings.push("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nACCEPT     tcp  --  anywhere             anywhere             tcp dpt:22\n");
if (ipsets.length === 0) ipsets.push("create s hash:ip family inet hashsize 1024 maxelem 65536\nadd s 10.0.0.1\n");
const fixtures = resolve(import.meta.dirname, "../fixtures/node");
const facts = readdirSync(fixtures).filter((f) => !f.endsWith(".md")).map((f) => readFileSync(resolve(fixtures, f), "utf8"));

/** A real text cut short, two of its lines glued, or a few bytes overwritten. */
const damaged = (seeds: string[]) =>
  fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom("cut", "glue", "bytes"))
    .map(([text, a, b, junk, how]) => {
      if (how === "cut") return text.slice(0, a % (text.length + 1));
      if (how === "bytes") {
        const at = a % (text.length + 1);
        return text.slice(0, at) + junk + text.slice(at + junk.length);
      }
      const lines = text.split("\n");
      const k = b % Math.max(1, lines.length - 1);
      return [...lines.slice(0, k), lines[k]! + " " + (lines[k + 1] ?? ""), ...lines.slice(k + 2)].join("\n");
    });

describe("readers fuzz", () => {
  it("listings (through format detection, as the CLI reads them)", () => {
    fc.assert(fc.property(damaged(listings), (t) => located(t, readInput(t, { file: "fuzz" }).diagnostics)), { numRuns: 400 });
  });
  it("ipset save and list", () => {
    fc.assert(fc.property(damaged(ipsets), (t) => located(t, parseIpsets(t, { file: "fuzz" }).diagnostics)), { numRuns: 400 });
  });
  it("node facts: ip -j addr/route, ip addr, ip route, route -n, node.json", () => {
    fc.assert(fc.property(damaged(facts), (t) => located(t, factsFromTexts([{ text: t, file: "fuzz" }]).diagnostics)), { numRuns: 400 });
  });
  it("mixed texts: a dump inside prose, a prompt, a code fence", () => {
    const wrap = fc.tuple(damaged([...listings.slice(0, 5), ...ipsets.slice(0, 5)]), fc.constantFrom("```\n", "$ sudo iptables -L\n", "Here is my output:\n\n", "> "))
      .map(([t, w]) => (w === "> " ? t.split("\n").map((l) => w + l).join("\n") : w + t + (w === "```\n" ? "\n```\n" : "")));
    fc.assert(fc.property(wrap, (t) => located(t, readInput(t, { file: "fuzz" }).diagnostics)), { numRuns: 300 });
  });
  it("random bytes through every reader", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (t) => {
      located(t, readInput(t, { file: "fuzz" }).diagnostics);
      located(t, parseIpsets(t, { file: "fuzz" }).diagnostics);
      located(t, factsFromTexts([{ text: t, file: "fuzz" }]).diagnostics);
      const p = parsePacketText(t);
      if (!p.ok) expect(p.error.length).toBeGreaterThan(0);
    }), { numRuns: 400 });
  });
});
