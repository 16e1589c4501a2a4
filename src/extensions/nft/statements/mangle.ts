/**
 * `meta mark set 0x10`, `ct mark set meta mark`, `ct zone set 1`, `ip dscp set cs1`: an
 * expression, `set`, and the value written into what it reads.
 *
 * Evaluated: marks (packet and connection), the conntrack zone and helper are followed; other
 * header fields netfate does not follow further are listed on the step.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftExpr, NftMangle } from "../../../model/nft.js";
import { asAction, NEXT, valueOrStop, type NftStmtEnv, type NftStmtOps, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import { isInt, type XVal } from "../../../model/nft-values.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

export const mangle: StmtKind<NftMangle> = {
  kind: "mangle",
  words: [],
  follows: "set",
  readAfter,
  jsonKeys: ["mangle"],
  readJson,
  print: (s, p) => `${p.expr(s.target)} set ${p.expr(s.value)}`,
  evaluate,
  prepare,
};

type Target = NftMangle["target"];

const isTarget = (e: NftExpr): e is Target => e.kind === "meta" || e.kind === "ct" || e.kind === "payload" || e.kind === "other";

function readAfter(left: NftExpr, r: StmtWordReader): NftMangle | undefined {
  if (!isTarget(left)) return r.fail("a meta, ct or payload expression before set");
  const value = r.value(r.typeOf(left));
  return value === undefined ? undefined : { kind: "mangle", target: left, value };
}

/** `{"mangle": {"key": EXPR, "value": EXPR}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftMangle | undefined {
  const { r } = j;
  const o = r.fields(v, "mangle statement");
  if (!o) return undefined;
  const [k, val] = r.need(v, o, ["key", "value"], "mangle statement") ?? [];
  if (!k || !val) return undefined;
  const target = j.expr(k, undefined, "mangle target");
  if (!target) return undefined;
  if (!isTarget(target)) return r.wrong(k, "mangle target", "a meta, ct, payload or header field expression");
  const value = j.expr(val, j.typesOf(target), "mangle value");
  return value && { kind: "mangle", target, value };
}

function evaluate(s: NftMangle, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  return written(s, env, ops, env.eval(s.value));
}

/**
 * evaluate for one statement, its value read by the reader the evaluator works out once
 * (kube-proxy's `meta mark set meta mark | 0x4000` and `^ 0x4000`, on every history of every
 * packet: a leaf and a constant, read without the expression registry).
 */
function prepare(s: NftMangle, ops: NftStmtOps): (env: NftStmtEnv) => StmtResult {
  const read = ops.reader(s.value);
  return (env) => written(s, env, ops, read(env));
}

/** The statement's effect, its value `x` read. */
function written(s: NftMangle, env: NftStmtEnv, ops: NftStmtOps, x: XVal): StmtResult {
  const v = valueOrStop(x, s, ops);
  if (!("val" in v)) return asAction(v);
  const t = s.target;
  const pkt = env.br.pkt;
  const n = isInt(v.val) ? u32(v.val) : undefined;
  if (t.kind === "meta" && t.key === "mark" && n !== undefined) {
    pkt.mark = n >>> 0;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "mark" && n !== undefined) {
    // nft_ct_set_eval: no entry, nothing to set.
    if (!env.beforeConntrack && pkt.ct.state !== "UNTRACKED" && pkt.ct.state !== "INVALID") pkt.ct.mark = n >>> 0;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "zone" && n !== undefined) {
    pkt.ct.zone = n;
    return NEXT;
  }
  if (t.kind === "ct" && t.key === "helper" && typeof v.val === "string") {
    pkt.ct.helper = v.val;
    return NEXT;
  }
  // Header fields (dscp, ttl, priority...) netfate does not follow further: listed on the step.
  env.br.notes.push({ kind: "rewrite", field: ops.exprText(t), value: isInt(v.val) ? Number(v.val) : String(v.val) });
  return NEXT;
}

/** The low 32 bits of an integer (a mark register's width). */
function u32(v: number | bigint): number {
  return typeof v === "number" && v >= 0 && v <= 0xffffffff ? v : Number(BigInt(v) & 0xffffffffn);
}
