/**
 * The parser finds a chain by its name in the text through a table of its own
 * (src/syntax/chain-ids.ts), keeps what it knows of deferred chains by chain id
 * (src/syntax/deferred-chains.ts), and makes a chain's digest only when asked for. Each must
 * give what the binder gives: here for chains that collide in the table, chains mixing lines
 * the fast path takes and lines it declines, and the counts a summary reads without digests.
 */
import { describe, expect, it } from "vitest";
import { ChainIds, ChainsByName } from "../../src/syntax/chain-ids.js";
import { parseRules } from "../../src/parse.js";
import { unknownExtensions } from "../../src/model/chain-rules.js";
import type { Chain, Ruleset } from "../../src/model/ast.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";

function chain(name: string, builtin = false): Chain {
  return { name, builtin, policy: null, declared: true, rules: undefined as never, span: { line: 1, col: 1, len: 1 } };
}

describe("chain ids", () => {
  it("finds every name of thousands, in the text where it was declared and elsewhere, and no other", () => {
    const names = Array.from({ length: 5000 }, (_, k) => `KUBE-SEP-${(k * 7919).toString(36).toUpperCase()}`);
    const text = names.map((n) => `:${n} - [0:0]\n`).join("") + names.map((n) => `-A ${n} -j ACCEPT\n`).join("");
    const ids = new ChainIds(text);
    let at = 0;
    names.forEach((n, k) => {
      // Half recorded with where the text declares them, half by their name only.
      expect(ids.add(chain(n), k % 2 ? at + 1 : -1)).toBe(k);
      at += n.length + 10;
    });
    for (const [k, n] of names.entries()) {
      const s = text.indexOf(`-A ${n} `) + 3;
      expect(ids.idAt(text, s, s + n.length)).toBe(k);
      expect(ids.idOf(n)).toBe(k);
    }
    // A prefix, a longer name and a name never declared are not chains.
    const s = text.indexOf(`-A ${names[3]} `) + 3;
    expect(ids.idAt(text, s, s + names[3]!.length - 1)).toBe(-1);
    expect(ids.idOf(`${names[3]}X`)).toBe(-1);
    expect(ids.idOf("KUBE-NOPE")).toBe(-1);
  });

  it("finds the later of two chains of one name, and tells which may be jumped to", () => {
    const ids = new ChainIds("");
    ids.add(chain("PREROUTING", true));
    ids.add(chain("A"));
    ids.add(chain("LOG"));
    expect(ids.add(chain("A"))).toBe(3);
    expect(ids.idOf("A")).toBe(3);
    expect([0, 1, 2, 3].map((id) => ids.jumpable(id))).toEqual([false, true, false, true]);
  });
});

describe("a table's chains by name", () => {
  // What a Map given the same chains one by one holds: the answers ChainsByName must give.
  function both(made: Chain[]) {
    const ids = new ChainIds("");
    const map = new Map<string, Chain>();
    for (const c of made) {
      ids.add(c);
      map.set(c.name, c);
    }
    return { byName: new ChainsByName(ids), map };
  }

  it("answers from the numbered chains as a Map of them would, the later of two of one name", () => {
    const made = [chain("PREROUTING", true), chain("A"), chain("B"), chain("A"), chain("C")];
    const { byName, map } = both(made);
    for (const n of ["PREROUTING", "A", "B", "C", "D", ""]) {
      expect(byName.get(n)).toBe(map.get(n));
      expect(byName.has(n)).toBe(map.has(n));
    }
    expect(byName.get("A")).toBe(made[3]);
  });

  it("given a Map of their own, holds them in a Map's order, and changes no longer reach the numbered ones", () => {
    const made = [chain("PREROUTING", true), chain("A"), chain("B"), chain("A"), chain("C")];
    const { byName, map } = both(made);
    // The same chains (not only equal ones: the two named A are), in the same order.
    const values = [...byName.values()];
    expect(values.length).toBe(map.size);
    [...map.values()].forEach((c, k) => expect(values[k]).toBe(c));
    expect([...byName.own().keys()]).toEqual(["PREROUTING", "A", "B", "C"]);
    expect(byName.delete("B")).toBe(true);
    const d = chain("D");
    byName.set("D", d);
    expect(byName.has("B")).toBe(false);
    expect(byName.get("D")).toBe(d);
    expect([...byName.values()].map((c) => c.name)).toEqual(["PREROUTING", "A", "C", "D"]);
  });

  it("is a Map from the start for a table that numbers none", () => {
    const byName = new ChainsByName(undefined);
    const a = chain("A");
    byName.set("A", a);
    expect(byName.get("A")).toBe(a);
    expect([...byName.values()]).toEqual([a]);
  });
});

function digests(rs: Ruleset) {
  return rs.tables.flatMap((t) => t.chains.map((c) => ({ name: c.name, count: c.rules.count, unknown: unknownExtensions(c.rules), digest: c.rules.digest() })));
}

describe("deferred chains' digests", () => {
  const mixed = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":KUBE-A - [0:0]",
    ":KUBE-B - [0:0]",
    "-A KUBE-A -p tcp -m comment --comment x -m tcp --dport 80 -j KUBE-B",
    "-A KUBE-A -m mark --mark 0x1 -j KUBE-B",
    "-A KUBE-A -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.1",
    "-A KUBE-A -m frobnicate --x 1 -j KUBE-B",
    "-A KUBE-B -m comment --comment y -j KUBE-A",
    "-A PREROUTING -j KUBE-A",
    "COMMIT",
    "",
  ].join("\n");

  it("are the binder's, for chains of fast lines and declined lines together, before and after binding", () => {
    const lazy = parseRules(mixed, { file: "d" });
    const eager = parseRules(mixed, { file: "d", deferRules: false });
    const before = digests(lazy.value);
    expect(before).toEqual(digests(eager.value));
    expect(before.find((d) => d.name === "KUBE-A")!.digest).toEqual({
      count: 4, matchNames: ["comment", "tcp", "mark", "statistic", "frobnicate"], targetNames: ["DNAT"], unknown: ["-m frobnicate"], jumps: [0, "KUBE-B", 1, "KUBE-B", 3, "KUBE-B"],
    });
    for (const t of lazy.value.tables) for (const c of t.chains) c.rules.load();
    expect(digests(lazy.value)).toEqual(before);
  });

  it("answer a summary's count and unknown extensions without making the digest, as the digest would", () => {
    const text = kubeProxyDump({ services: 30 });
    const lazy = parseRules(text, { file: "d" });
    const eager = parseRules(text, { file: "d", deferRules: false });
    const seen = lazy.value.tables.flatMap((t) => t.chains.map((c) => [c.rules.count, unknownExtensions(c.rules)]));
    expect(seen).toEqual(eager.value.tables.flatMap((t) => t.chains.map((c) => [c.rules.digest().count, c.rules.digest().unknown])));
    expect(digests(lazy.value)).toEqual(digests(eager.value));
  });
});
