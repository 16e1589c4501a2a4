/**
 * References to a table's named stateful objects: `counter name "c"`, `limit name "l"`,
 * `quota name "q"`, `ct helper set "ftp"`, `ct timeout set "t"`, `ct expectation set "e"`,
 * and (JSON) `secmark`/`synproxy` by name. The name may be a map lookup
 * (`counter name tcp dport map { 22 : "ssh" }`).
 *
 * Evaluated: a named quota or limit as its inline form is (the same stated assumption); a
 * helper is attached to the connection; the rest gives no verdict.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftObjRef, NftObjectType, NftStmt } from "../../../model/nft.js";
import { NEXT, type NftStmtEnv, type NftStmtOps, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import { fromMatch, iptablesEnv } from "./like-iptables.js";
import { rateLimitHasTokens } from "./limit.js";
import { quotaHasBytes } from "./quota.js";
import { isMapObjRef, objRef, objRefJson } from "./object-name.js";
import type { StmtJsonReader, StmtKind, StmtPrinter } from "./types.js";

const CT_OBJECTS = new Set(["helper", "timeout", "expectation"]);

export const objref: StmtKind<NftObjRef> = {
  kind: "objref",
  words: ["ct"],
  starts: (r) => CT_OBJECTS.has(r.peek(1) ?? "") && r.is("set", 2),
  read(r) {
    r.take();
    const type = `ct ${r.take()}` as "ct helper" | "ct timeout" | "ct expectation";
    r.take();
    return objRef(r, type);
  },
  jsonKeys: ["ct helper", "ct timeout", "ct expectation", "secmark", "synproxy"],
  readJson,
  print,
  evaluate,
  // A ct object attached to the connection needs the connection.
  needsConntrack: (s) => s.type.startsWith("ct "),
};

function readJson(key: string, v: JsonNode, n: JsonNode, j: StmtJsonReader): NftStmt | undefined {
  const type = key as NftObjectType;
  if (key !== "secmark" && key !== "synproxy") return objRefJson(j, type, v);
  // A name refers to the table's object; settings given inline are a statement netfate keeps as written.
  return v.kind === "string" || isMapObjRef(v) ? objRefJson(j, type, v) : { kind: "other", name: key, text: j.r.source(n) };
}

function print(s: NftObjRef, p: StmtPrinter): string {
  return s.type.startsWith("ct ") ? `${s.type} set ${p.expr(s.name)}` : `${s.type} name ${p.expr(s.name)}`;
}

function evaluate(s: NftObjRef, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  switch (s.type) {
    case "counter":
      return NEXT;
    case "quota":
      return fromMatch(quotaHasBytes(iptablesEnv(env)), false, s, ops);
    case "limit":
      return fromMatch(rateLimitHasTokens(iptablesEnv(env)), false, s, ops);
    case "ct helper": {
      if (s.name.kind === "const" && typeof s.name.value === "string") env.br.pkt.ct.helper = s.name.value;
      else return { kind: "unknown-action", why: `${ops.text(s)}: the helper's name is chosen per packet` };
      return NEXT;
    }
    case "ct timeout":
    case "ct expectation":
    case "secmark":
      // Attached to the connection or packet; no verdict.
      env.br.notes.push({ kind: "rewrite", field: s.type, value: `${ops.exprText(s.name)} (not modelled; it gives no verdict)` });
      return NEXT;
    default:
      return { kind: "unknown-action", why: `${ops.text(s)}: netfate does not evaluate ${s.type} objects` };
  }
}
