/**
 * `limit rate [over] 10/second [burst 5 packets]`, `limit rate 1 mbytes/second`, and a named
 * limit (`limit name "l"`, an object reference). nft lists a packet limit's default burst (5)
 * and a byte limit's burst 0 as nothing.
 *
 * Evaluated with the same buckets and the same stated assumption as `-m limit`: a quiet node's
 * bucket has tokens.
 */
import type { JsonField, JsonNode } from "../../../model/json.js";
import type { NftLimit, NftStmt } from "../../../model/nft.js";
import type { EvalEnv, MatchResult } from "../../../model/evaluation.js";
import type { NftStmtEnv, NftStmtOps, StmtResult } from "../../../model/nft-statement-evaluation.js";
import { EXHAUSTED, QUIET_NODE, RATE_STATE } from "../../matches/limit.js";
import { underAssumption } from "../../util.js";
import { fromMatch, iptablesEnv } from "./like-iptables.js";
import { isMapObjRef, objRef, objRefJson } from "./object-name.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

const PER = new Set(["second", "minute", "hour", "day", "week"]);

export const limit: StmtKind<NftLimit> = {
  kind: "limit",
  words: ["limit"],
  read,
  jsonKeys: ["limit"],
  readJson,
  print,
  evaluate,
};

function read(r: StmtWordReader): NftStmt | undefined {
  r.take();
  if (r.accept("name")) return objRef(r, "limit");
  if (!r.expect("rate")) return undefined;
  const over = r.accept("over");
  r.accept("until");
  const rate = readRate(r);
  if (rate === undefined) return undefined;
  const out: NftLimit = { kind: "limit", rate: rate.rate, per: rate.per as NftLimit["per"], over };
  if (rate.unit !== undefined) out.unit = rate.unit;
  if (r.accept("burst")) {
    const b = r.uint("a burst size");
    if (b === undefined) return undefined;
    out.burst = b;
    const u = r.peek() ?? "";
    if (u === "packets" || r.isByteUnit(u)) {
      r.take();
      if (u !== "packets") out.burstUnit = u;
    }
  }
  return out;
}

/** `N/second`, or `N UNIT/second` for bytes. */
function readRate(r: StmtWordReader): { rate: number; per: string; unit?: string } | undefined {
  const t = r.peek() ?? "";
  const m = /^([0-9]+)\/([a-z]+)$/.exec(t);
  if (m && PER.has(m[2]!)) {
    r.take();
    return { rate: Number(m[1]), per: m[2]! };
  }
  if (/^[0-9]+$/.test(t)) {
    const u = /^([a-z]+)\/([a-z]+)$/.exec(r.peek(1) ?? "");
    if (u && r.isByteUnit(u[1]!) && PER.has(u[2]!)) {
      r.take();
      r.take();
      return { rate: Number(t), per: u[2]!, unit: u[1]! };
    }
  }
  return r.fail("a rate such as 10/second or 1 mbytes/second");
}

function readJson(_key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftStmt | undefined {
  if (v.kind !== "object" || isMapObjRef(v)) return objRefJson(j, "limit", v);
  return limitFields(j, v, j.r.fields(v, "limit")!, "limit");
}

function limitFields({ r }: StmtJsonReader, v: JsonNode, o: Map<string, JsonField>, what: string): NftLimit | undefined {
  const rate = r.int(o, "rate", what);
  if (rate === undefined) return void r.error(v, `a ${what} has no "rate"`, "its rate");
  const per = r.str(o, "per", what) ?? "second";
  if (!PER.has(per)) return void r.error(o.get("per")!.value, `${what} per ${JSON.stringify(per)}`, [...PER].join(", "));
  const l: NftLimit = { kind: "limit", rate, per: per as NftLimit["per"], over: r.bool(o, "inv", what) ?? false };
  const unit = r.str(o, "rate_unit", what);
  if (unit !== undefined && unit !== "packets") l.unit = unit;
  const burst = r.int(o, "burst", what);
  if (burst !== undefined) l.burst = burst;
  const burstUnit = r.str(o, "burst_unit", what);
  if (burstUnit !== undefined && burstUnit !== "packets") l.burstUnit = burstUnit;
  return l;
}

function print(s: NftLimit): string {
  let out = `limit rate ${s.over ? "over " : ""}${s.rate}${s.unit ? ` ${s.unit}` : ""}/${s.per}`;
  if (s.burst !== undefined) {
    if (s.unit === undefined && s.burstUnit === undefined) {
      if (s.burst !== 5) out += ` burst ${s.burst} packets`;
    } else if (s.burst !== 0) out += ` burst ${s.burst} ${s.burstUnit ?? "bytes"}`;
  }
  return out;
}

function evaluate(s: NftLimit, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  return fromMatch(rateLimitHasTokens(iptablesEnv(env)), s.over, s, ops);
}

/** A rate limit's bucket: tokens left on a quiet node (said), none under `--assume limit=busy`. */
export function rateLimitHasTokens(env: EvalEnv): MatchResult {
  return underAssumption(env, RATE_STATE, { matched: true, assuming: QUIET_NODE }, { matched: false, assuming: EXHAUSTED });
}
