/**
 * A small builder of nft ASTs for evaluator tests, while the text and JSON readers are written
 * elsewhere: each helper makes one node of src/model/nft.ts, with a dummy span.
 */
import type {
  NftBaseChain, NftChain, NftConst, NftElement, NftExpr, NftFamily, NftMatch, NftNat, NftOp, NftRule, NftRuleset,
  NftSet, NftSetLiteral, NftStmt, NftTable, NftVerdict,
} from "../../src/model/nft.js";
import type { Span } from "../../src/model/span.js";

const SPAN: Span = { line: 1, col: 1, len: 1 };

export const k = (type: string, value: number | bigint | string, text?: string): NftConst => ({ kind: "const", type, value, ...(text !== undefined ? { text } : {}) });
export const ip4 = (a: string): NftConst => k("ipv4_addr", a);
export const ip6 = (a: string): NftConst => k("ipv6_addr", a);
export const port = (n: number): NftConst => k("inet_service", n);
export const proto = (n: number, name: string): NftConst => k("inet_proto", n, name);
export const mark = (n: number): NftConst => k("mark", n);
export const ifname = (name: string): NftConst => (name.endsWith("*") ? { kind: "const", type: "ifname", value: name.slice(0, -1), wildcard: true } : k("ifname", name));
export const prefix = (base: NftConst, len: number): NftExpr => ({ kind: "prefix", base, len });
export const range = (lo: NftConst, hi: NftConst): NftExpr => ({ kind: "range", lo, hi });
export const concat = (...parts: NftExpr[]): NftExpr => ({ kind: "concat", parts });
export const set = (...keys: NftExpr[]): NftSetLiteral => ({ kind: "set", elements: keys.map((key) => ({ key })) });
export const vmapLit = (...pairs: Array<[NftExpr, NftVerdict]>): NftSetLiteral => ({ kind: "set", elements: pairs.map(([key, data]) => ({ key, data })) });
export const mapLit = (...pairs: Array<[NftExpr, NftExpr]>): NftSetLiteral => ({ kind: "set", elements: pairs.map(([key, data]) => ({ key, data })) });
export const ref = (name: string): NftExpr & { kind: "setref" } => ({ kind: "setref", name });

export const pl = (protocol: string, field: string): NftExpr => ({ kind: "payload", protocol, field });
export const meta = (key: string): NftExpr & { kind: "meta" } => ({ kind: "meta", key });
export const ct = (key: string, dir?: "original" | "reply"): NftExpr & { kind: "ct" } => ({ kind: "ct", key, ...(dir ? { dir } : {}) });
export const fib = (flags: string[], result: "oif" | "oifname" | "type"): NftExpr => ({ kind: "fib", flags, result });
export const numgen = (mode: "random" | "inc", mod: number, offset = 0): NftExpr => ({ kind: "numgen", mode, mod, offset });
export const jhash = (expr: NftExpr, mod: number): NftExpr => ({ kind: "hash", mode: "jhash", expr, mod, offset: 0 });
export const binop = (op: "&" | "|" | "^" | "<<" | ">>", left: NftExpr, right: NftExpr): NftExpr => ({ kind: "binop", op, left, right });
export const mapOf = (key: NftExpr, map: NftSetLiteral | { kind: "setref"; name: string }): NftExpr => ({ kind: "map", key, map });

/** `ct state` bits and `fib ... type` values as nft numbers them. */
export const CT = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
export const ctState = (...names: Array<keyof typeof CT>): NftConst => k("ct_state", names.reduce((a, n) => a | CT[n], 0), names.join(","));
export const ADDRTYPE_LOCAL = k("fib_addrtype", 2, "local");

export const match = (left: NftExpr, right: NftExpr, op: NftOp = "implicit"): NftMatch => ({ kind: "match", left, op, right });
export const accept: NftVerdict = { kind: "verdict", verdict: "accept" };
export const drop: NftVerdict = { kind: "verdict", verdict: "drop" };
export const ret: NftVerdict = { kind: "verdict", verdict: "return" };
export const cont: NftVerdict = { kind: "verdict", verdict: "continue" };
export const jump = (chain: string): NftVerdict => ({ kind: "verdict", verdict: "jump", chain });
export const goto = (chain: string): NftVerdict => ({ kind: "verdict", verdict: "goto", chain });
export const vmap = (key: NftExpr, map: NftSetLiteral | { kind: "setref"; name: string }): NftStmt => ({ kind: "vmap", key, map });
export const counter: NftStmt = { kind: "counter" };
export const setMark = (value: NftExpr): NftStmt => ({ kind: "mangle", target: { kind: "meta", key: "mark" }, value });
export const setCtMark = (value: NftExpr): NftStmt => ({ kind: "mangle", target: { kind: "ct", key: "mark" }, value });
export const nat = (type: NftNat["type"], over: Partial<NftNat> = {}): NftStmt => ({ kind: "nat", type, flags: [], ...over });

export const rule = (...stmts: NftStmt[]): NftRule => ({ stmts, span: SPAN });
export const ruleH = (handle: number, ...stmts: NftStmt[]): NftRule => ({ handle, stmts, span: SPAN });

export function base(type: NftBaseChain["type"], hook: NftBaseChain["hook"], priority: number, policy?: "accept" | "drop"): NftBaseChain {
  return { type, hook, priority, priorityText: String(priority), ...(policy ? { policy } : {}) };
}

export function chain(name: string, rules: NftRule[], b?: NftBaseChain): NftChain {
  return { name, rules, span: SPAN, ...(b ? { base: b } : {}) };
}

export function namedSet(name: string, keyType: string[], elements: NftElement[], kind: "set" | "map" = "set", flags: string[] = []): NftSet {
  return { kind, name, keyType, flags, elements, span: SPAN };
}

export const el = (key: NftExpr, data?: NftExpr): NftElement => ({ key, ...(data ? { data } : {}) });

export function table(family: NftFamily, name: string, chains: NftChain[], sets: NftSet[] = [], extra: Partial<NftTable> = {}): NftTable {
  return { family, name, flags: [], chains, sets, objects: [], flowtables: [], span: SPAN, ...extra };
}

export function ruleset(...tables: NftTable[]): NftRuleset {
  return { tables, source: "list" };
}
