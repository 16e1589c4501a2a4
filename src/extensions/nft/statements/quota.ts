/**
 * `quota [over] 100 mbytes [used 5 mbytes]`, and a named quota (`quota name "q"`, an object
 * reference). nft lists `used 0` as nothing, and no usage at all with `-s`.
 *
 * Evaluated: a quota the listing shows spent is spent; otherwise the same stated assumption as
 * `-m quota` (a quiet node's quota has bytes left).
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftQuota, NftStmt } from "../../../model/nft.js";
import type { EvalEnv, MatchResult } from "../../../model/evaluation.js";
import type { NftStmtEnv, NftStmtOps, StmtResult } from "../../../model/nft-statement-evaluation.js";
import { QUIET_QUOTA, QUOTA_STATE, SPENT } from "../../matches/quota.js";
import { underAssumption } from "../../util.js";
import { fromMatch, iptablesEnv } from "./like-iptables.js";
import { isMapObjRef, objRef, objRefJson } from "./object-name.js";
import type { StmtJsonReader, StmtKind, StmtPrinter, StmtWordReader } from "./types.js";

export const quota: StmtKind<NftQuota> = {
  kind: "quota",
  words: ["quota"],
  read,
  jsonKeys: ["quota"],
  readJson,
  print,
  evaluate,
};

function read(r: StmtWordReader): NftStmt | undefined {
  r.take();
  if (r.accept("name")) return objRef(r, "quota");
  const over = r.accept("over");
  r.accept("until");
  const amount = r.amount();
  if (amount === undefined) return undefined;
  const q: NftQuota = { kind: "quota", bytes: amount.bytes, unit: amount.unit, over };
  if (r.accept("used")) {
    const used = r.amount();
    if (used === undefined) return undefined;
    q.used = used.bytes;
    q.usedUnit = used.unit;
  }
  return q;
}

function readJson(_key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftStmt | undefined {
  if (v.kind !== "object" || isMapObjRef(v)) return objRefJson(j, "quota", v);
  const { r } = j;
  const o = r.fields(v, "quota")!;
  // JSON gives the size in the unit nft prints it in; the AST holds bytes and the unit.
  const val = r.int(o, "val", "quota");
  if (val === undefined) return void r.error(v, 'a quota has no "val"', "its size");
  const unit = r.str(o, "val_unit", "quota");
  const bytes = j.inBytes(val, unit);
  if (bytes === undefined) return void r.error(o.get("val_unit")!.value, `quota unit ${JSON.stringify(unit)}`, j.byteUnits.join(", "));
  const q: NftQuota = { kind: "quota", bytes, over: r.bool(o, "inv", "quota") ?? false };
  if (unit !== undefined) q.unit = unit;
  const usedVal = r.int(o, "used", "quota");
  const usedUnit = r.str(o, "used_unit", "quota");
  if (usedVal !== undefined) {
    const used = j.inBytes(usedVal, usedUnit);
    if (used === undefined) return void r.error(o.get("used_unit")!.value, `quota unit ${JSON.stringify(usedUnit)}`, j.byteUnits.join(", "));
    q.used = used;
    if (usedUnit !== undefined) q.usedUnit = usedUnit;
  }
  return q;
}

function print(s: NftQuota, p: StmtPrinter): string {
  let out = `quota ${s.over ? "over " : ""}${p.amount(s.bytes, s.unit)}`;
  if (!p.stateless && s.used) out += ` used ${p.amount(s.used, s.usedUnit)}`;
  return out;
}

function evaluate(s: NftQuota, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  if (s.used !== undefined && s.used >= s.bytes) {
    return { kind: "assumed", passes: s.over, assuming: `${ops.text(s)} was spent when the ruleset was listed (used ${s.used})` };
  }
  return fromMatch(quotaHasBytes(iptablesEnv(env)), s.over, s, ops);
}

/** A quota: bytes left on a quiet node (said), spent under `--assume quota=spent`. */
export function quotaHasBytes(env: EvalEnv): MatchResult {
  return underAssumption(env, QUOTA_STATE, { matched: true, assuming: QUIET_QUOTA }, { matched: false, assuming: SPENT });
}
