/**
 * A long chain whose rules were deferred by the reader is bound line by line as a walk reads
 * it (netfilter/chain-lines.ts): a walk that tries every rule (why-dropped) and finds its
 * answer near the top binds no more of the chain, and one that goes by the chain's index,
 * made from the lines' text, binds the few rules it names. The rules and the answers are
 * those of the chain bound whole, whatever its lines give (none, one or several rules each).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readInput, rulesetsOf, type InputResult } from "../../src/inputs.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { chainIndex, compileRulesets, linesIndex } from "../../src/netfilter/compile.js";
import { chainLines } from "../../src/netfilter/chain-lines.js";
import type { Table } from "../../src/model/ast.js";
import { buildNode } from "../../src/netfilter/model.js";
import { evaluationJson } from "../../src/explain/json.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { simpleNode } from "../support/simple-node.js";

const NODE = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/16"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

const packet = (src: string, dst: string, proto: number, dport: number): PacketSpec => ({
  family: "ipv4", from: "eth0", src, dst, proto, sport: 40000, dport, ...(proto === 6 ? { tcpFlags: 0x02 } : {}),
});

/** Each packet's answer, with every rule tried (as why-dropped asks) and without, from `r`'s rules. */
function answers(r: InputResult, packets: PacketSpec[]): unknown[] {
  const node = buildNode({ rulesets: rulesetsOf(r.input), node: NODE });
  return packets.flatMap((p) => [evaluationJson(node.evaluate(p, { verbose: true })), evaluationJson(node.evaluate(p))]);
}

/** The dump read with every chain bound whole before anything is compiled. */
function boundWhole(text: string): InputResult {
  const r = readInput(text, { file: "dump.save" });
  for (const rs of rulesetsOf(r.input)) for (const t of rs.tables) for (const c of t.chains) c.rules.load();
  return r;
}

/** Rule i of chain k of `t`, read from its lines. */
function rulesInOrder(t: Table, k: number): ((i: number) => unknown) | undefined {
  const lines = chainLines(t, k, new Map(t.chains.map((c, i) => [c.name, i])));
  return lines && ((i) => lines.rule(i));
}

describe("a long chain is bound as far as a walk reads it", () => {
  it("a walk that tries every rule and finds its service at the top of KUBE-SERVICES binds no more of it", () => {
    const text = kubeProxyDump({ services: 300 });
    const r = readInput(text, { file: "kube.save" });
    const nat = rulesetsOf(r.input)[0]!.tables.find((t) => t.name === "nat")!;
    const services = nat.chains.find((c) => c.name === "KUBE-SERVICES")!;
    const p = packet("192.168.0.50", "10.96.0.10", 6, 80);
    const node = buildNode({ rulesets: rulesetsOf(r.input), node: NODE });
    const e = node.evaluate(p, { verbose: true });
    expect(services.rules.loaded()).toBe(false);
    expect(evaluationJson(e)).toEqual(answers(boundWhole(text), [p])[0]);
    // A walk that goes by the index reads it from the lines' text, and binds the rules it names.
    const halfway = packet("192.168.0.50", "10.96.0.160", 6, 80);
    expect(evaluationJson(node.evaluate(halfway))).toEqual(answers(boundWhole(text), [halfway])[1]);
    expect(services.rules.loaded()).toBe(false);
  });

  /** Lines of a long chain: each gives one rule, several (`-s a,b`), or none (a line the reader refuses). */
  const line = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 30 }), fc.constantFrom(80, 443)).map(([h, p]) => `-A BIG -d 10.1.0.${h}/32 -p tcp -m tcp --dport ${p} -j ACCEPT`),
    fc.integer({ min: 0, max: 30 }).map((h) => `-A BIG -s 192.168.0.50,203.0.113.7 -d 10.1.0.${h}/32 -j DROP`),
    fc.constantFrom(53, 80).map((p) => `-A BIG -p udp -m udp --dport ${p} -j RETURN`),
    fc.integer({ min: 0, max: 30 }).map((h) => `-A BIG -d 10.1.0.${h}/32 -p tcp -m tcp --dport 99999 -j ACCEPT`),
    fc.integer({ min: 0, max: 30 }).map((h) => `-A BIG -d 10.1.0.${h}/32 -j SMALL`),
    // Keys the index must not take for an exact destination or port, and lines the fast path declines.
    fc.tuple(fc.constantFrom("! -d 10.1.0.7/32", "-d 10.1.0.0/24", "-d 10.1.0.9", "-d 10.1.0.9/0", "-d 200.1.0.9", "! -s 10.1.0.0/16 -d 10.1.0.8/32"), fc.constantFrom("", " -p tcp -m tcp --sport 80", " -p udp -m udp --sport 9 --dport 53", " -p tcp -m tcp --dport 65535"))
      .map(([d, p]) => `-A BIG ${d}${p} -j ACCEPT`),
    fc.constantFrom("-A BIG -m addrtype --dst-type LOCAL -j ACCEPT", "-A BIG -d 10.1.0.3/32 -p tcp -m tcp --dport 80 -m mark --mark 0x1 -j DROP", "-A BIG -p tcp -m tcp ! --dport 80 -j RETURN", "-A BIG -d 10.1.0.4/32 -j LATER"),
  );
  const dump = fc.array(line, { minLength: 16, maxLength: 120 }).map((lines) => [
    "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":BIG - [0:0]", ":SMALL - [0:0]",
    "-A FORWARD -j BIG", ...lines, "-A SMALL -p tcp -j ACCEPT", ":LATER - [0:0]", "-A LATER -j DROP", "COMMIT", "",
  ].join("\n"));
  const packets = fc.array(
    fc.record({ src: fc.constantFrom("192.168.0.50", "203.0.113.7"), h: fc.integer({ min: 0, max: 32 }), proto: fc.constantFrom(6, 17), dport: fc.constantFrom(53, 80, 443) })
      .map((p) => packet(p.src, `10.1.0.${p.h}`, p.proto, p.dport)),
    { minLength: 1, maxLength: 3 },
  );

  it("rule by rule, the rules of the chain bound whole", () => {
    fc.assert(fc.property(dump, (text) => {
      const lazy = rulesetsOf(readInput(text, { file: "dump.save" }).input)[0]!.tables[0]!;
      const whole = rulesetsOf(boundWhole(text).input)[0]!.tables[0]!;
      const k = lazy.chains.findIndex((c) => c.name === "BIG");
      const rule = rulesInOrder(lazy, k)!;
      expect(rule).toBeDefined();
      const want = whole.chains[k]!.rules.load();
      for (let i = 0; i < want.length; i++) expect(rule(i)).toEqual(want[i]);
      expect(lazy.chains[k]!.rules.loaded()).toBe(false);
    }), { numRuns: 40 });
  });

  it("its index, from what the reader noted of each line, is the index of the chain bound whole", () => {
    let indexed = 0;
    fc.assert(fc.property(dump, (text) => {
      const lazy = rulesetsOf(readInput(text, { file: "dump.save" }).input)[0]!.tables[0]!;
      const whole = rulesetsOf(boundWhole(text).input)[0]!.tables[0]!;
      const k = lazy.chains.findIndex((c) => c.name === "BIG");
      const lines = chainLines(lazy, k, new Map(lazy.chains.map((c, i) => [c.name, i])))!;
      // (a chain of fewer than 16 rules has no index: lines the reader refused give none)
      const want = chainIndex(whole.chains[k]!.rules.load(), "ipv4");
      if (!want) return;
      indexed++;
      expect(linesIndex(lines, "ipv4")).toEqual(want);
    }), { numRuns: 60 });
    expect(indexed).toBeGreaterThan(30);
  });

  it("the answers of the chain bound whole", () => {
    fc.assert(fc.property(dump, packets, (text, ps) => {
      expect(answers(readInput(text, { file: "dump.save" }), ps)).toEqual(answers(boundWhole(text), ps));
    }), { numRuns: 40 });
  });

  it("a chain that is not the one read (replaced, or its rules bound) is bound whole", () => {
    const text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n" +
      Array.from({ length: 20 }, (_, i) => `-A A -d 10.0.0.${i}/32 -j ACCEPT\n`).join("") + "COMMIT\n";
    const t = rulesetsOf(readInput(text, { file: "one.save" }).input)[0]!.tables[0]!;
    const other = rulesetsOf(readInput(text.replace(/-j ACCEPT/g, "-j DROP"), { file: "two.save" }).input)[0]!.tables[0]!;
    const a = t.chains.findIndex((c) => c.name === "A");
    expect(rulesInOrder(t, a)).toBeDefined();
    t.chains[a] = other.chains[a]!;
    expect(rulesInOrder(t, a)).toBeUndefined();
    const compiled = compileRulesets([rulesetsOf(readInput(text, { file: "one.save" }).input)[0]!], "ipv4");
    expect(compiled.tables.get("filter")!.chains.get("A")!.rules[3]!.target).toEqual({ kind: "standard", verdict: "ACCEPT" });
    const replaced = compileRulesets([{ ...rulesetsOf(readInput(text, { file: "one.save" }).input)[0]!, tables: [t] }], "ipv4");
    expect(replaced.tables.get("filter")!.chains.get("A")!.rules[3]!.target).toEqual({ kind: "standard", verdict: "DROP" });
    other.chains[a]!.rules.load();
    expect(rulesInOrder(other, a)).toBeUndefined();
  });
});
