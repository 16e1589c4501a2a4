/**
 * The nft expression kinds' registry (src/extensions/nft/registry.ts): every kind listed once,
 * found back by its AST kind (or kept name) and by each JSON key, and every kind nft's JSON
 * knows that netfate keeps as written read without a warning, printed as written and
 * evaluated as unknown.
 */
import { describe, expect, it } from "vitest";
import { EXPRESSION_KINDS, expressionKind, expressionKindByJsonKey } from "../../src/extensions/nft/registry.js";
import type { NftExpr } from "../../src/model/nft.js";
import type { NftExprEnv } from "../../src/model/nft-evaluation.js";
import { printNftExpr } from "../../src/nft/print/expr.js";
import { doc, firstRule, parse, rule } from "./nft-json-support.js";

/** The kept kinds read nothing of the environment but the packet's family (of a packet the kind can be in). */
const envOf = (family: "ipv4" | "ipv6" = "ipv4") => ({ br: { pkt: { family } } }) as unknown as NftExprEnv;

describe("the nft expression kinds' registry", () => {
  it("lists each kind once, by AST kind or kept name, and each JSON key once", () => {
    const ids = EXPRESSION_KINDS.map((k) => (k.kind === "other" ? `other ${k.name}` : k.kind));
    expect(new Set(ids).size).toBe(ids.length);
    const keys = EXPRESSION_KINDS.flatMap((k) => k.jsonKeys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of EXPRESSION_KINDS) for (const key of k.jsonKeys) expect(expressionKindByJsonKey(key)).toBe(k);
  });

  it.each(["exthdr", "tcp option", "ip option", "sctp chunk", "dccp option", "osf", "ipsec", "socket", "rt", "tunnel"])(
    "reads JSON %s as written, without a warning, and does not evaluate it",
    (name) => {
      const left = { [name]: { field: "x" } };
      const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "==", left, right: 1 } }])));
      expect(diagnostics).toEqual([]);
      const stmt = firstRule(ruleset).stmts[0]!;
      if (stmt.kind !== "match") throw new Error(`read as ${stmt.kind}`);
      const e: NftExpr = stmt.left;
      expect(e).toEqual({ kind: "other", name, text: JSON.stringify(left) });
      expect(printNftExpr(e)).toBe(JSON.stringify(left));
      const kind = expressionKind(e)!;
      expect(kind.evaluate(e, envOf(kind.family?.(e, undefined)), printNftExpr)).toEqual({ indeterminate: `${name} (${JSON.stringify(left)}): netfate does not evaluate this expression` });
    },
  );

  it("keeps a JSON kind nft does not know, with a warning, printed as written", () => {
    const left = { teleport: {} };
    const { ruleset, diagnostics } = parse(doc(rule([{ match: { op: "==", left, right: 1 } }])));
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('unknown expression "teleport"')]);
    const stmt = firstRule(ruleset).stmts[0]!;
    if (stmt.kind !== "match") throw new Error(`read as ${stmt.kind}`);
    expect(printNftExpr(stmt.left)).toBe(JSON.stringify(left));
    expect(expressionKind(stmt.left)!.type(stmt.left)).toEqual(["integer"]);
  });
});
