/**
 * libnftables' JSON statements (libnftables-json(5), "STATEMENTS"): a rule's `"expr"` list,
 * each a one-key object. Each statement kind reads its object itself
 * (src/extensions/nft/statements/, found through its registry by the key); this reader keeps
 * the rule's own structure: relations, verdicts and verdict maps. A kind nft does not know is
 * kept as written with a warning. Checked against `nft -j list ruleset` of nft 1.0.6
 * (test/kernel/nft-json.test.ts).
 */
import type { JsonNode } from "../../facts/located-json.js";
import type { NftOp, NftStmt } from "../../model/nft.js";
import { statementKindByJsonKey } from "../../extensions/nft/statements/registry.js";
import type { StmtJsonReader } from "../../extensions/nft/statements/types.js";
import { element, isVerdictName, mapOf, readExpr, type ExprScope } from "./expr.js";
import { asNftLoadsIt, BYTE_UNITS } from "../datatypes.js";
import { inBytes } from "./object-props.js";
import { typesOf } from "./values.js";

/** JSON's relational operators; `in` is nft's implicit operator (any of the bits, for a bitmask). */
const OPS: Readonly<Record<string, NftOp>> = { "==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", in: "implicit" };

/** What a statement reader needs: what expressions need, and the rule's table's family. */
export interface StmtScope extends ExprScope {
  /** The table's family: which address type a nat statement without `"family"` takes. */
  family: string;
}

const BYTE_UNIT_NAMES = Object.keys(BYTE_UNITS);

/** What a statement kind reads its object with, for a scope (one per scope: a ruleset's rules share few). */
const KIND_READERS = new WeakMap<StmtScope, StmtJsonReader>();

function kindReader(s: StmtScope): StmtJsonReader {
  let j = KIND_READERS.get(s);
  if (j === undefined) {
    j = {
      r: s.r,
      family: s.family,
      table: s.table,
      list: (n, what, expected) => s.r.j.list(n, what, expected),
      expr: (n, hint, what) => readExpr(s, n, hint, 1, what),
      element: (n, keyHint) => element(s, n, keyHint, undefined, 1),
      setTypes: (name) => s.setTypes(name),
      stmt: (n) => readStmt(s, n),
      typesOf,
      inBytes,
      byteUnits: BYTE_UNIT_NAMES,
    };
    KIND_READERS.set(s, j);
  }
  return j;
}

export function readStmt(s: StmtScope, n: JsonNode): NftStmt | undefined {
  const { r } = s;
  const f = r.single(n, "statement", "the statement's kind");
  if (!f) return undefined;
  const v = f.value;
  const kind = f.key;
  if (isVerdictName(kind)) {
    const e = readExpr(s, n, undefined, 0, "verdict");
    return e?.kind === "verdict" ? e : undefined;
  }
  if (kind === "match") return match(s, v);
  if (kind === "vmap") return vmap(s, v);
  const k = statementKindByJsonKey(kind);
  if (k?.readJson) return k.readJson(kind, v, n, kindReader(s));
  r.warning(n, `unknown statement ${JSON.stringify(kind)}, kept as written and evaluated as unknown`);
  return { kind: "other", name: kind, text: r.source(n) };
}

/** `{"vmap": {"key": EXPR, "data": MAP}}`. */
function vmap(s: StmtScope, v: JsonNode): NftStmt | undefined {
  const { r } = s;
  const o = r.fields(v, "vmap statement");
  const [k, d] = (o && r.need(v, o, ["key", "data"], "vmap statement")) ?? [];
  if (!k || !d) return undefined;
  const key = readExpr(s, k, undefined, 1, "vmap key");
  const map = key && mapOf(s, d, typesOf(key), ["verdict"], 1, "vmap data");
  return map && { kind: "vmap", key: key!, map };
}

function match(s: StmtScope, v: JsonNode): NftStmt | undefined {
  const { r } = s;
  const o = r.fields(v, "match");
  if (!o) return undefined;
  const opText = r.needStr(v, o, "op", "match");
  const [l, rt] = r.need(v, o, ["left", "right"], "match") ?? [];
  if (!l || !rt || opText === undefined) return undefined;
  const op = OPS[opText];
  if (!op) return void r.error(o.get("op")!.value, `unknown match operator ${JSON.stringify(opText)}`, Object.keys(OPS).join(", "));
  const left = readExpr(s, l, undefined, 1, "match left side");
  if (!left) return undefined;
  const right = readExpr(s, rt, typesOf(left), 1, "match right side");
  return right && { kind: "match", left, ...asNftLoadsIt(op, right) };
}
