/**
 * Statements nft has that netfate keeps as written (`kind: "other"`) and does not evaluate:
 * dup, fwd, tproxy, synproxy, meter, last, secmark, osf, flow offload, ct count, and the JSON
 * forms of some of them (reset, tunnel). The text reader keeps the rest of the rule with the
 * statement, so nothing is lost.
 *
 * Evaluated: those that never give a verdict let the rule go on (listed on the step); the rest
 * may decide the packet's fate, and are unknown.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftOtherStmt } from "../../../model/nft.js";
import { NEXT, type NftStmtEnv, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

/** Statement words kept as written to the end of the rule. */
const TO_END = ["dup", "fwd", "tproxy", "synproxy", "meter", "last", "secmark", "osf"];

export const kept: StmtKind<NftOtherStmt> = {
  kind: "other",
  words: [...TO_END, "flow", "ct"],
  starts(r) {
    const w = r.peek();
    if (w === "flow") return (r.is("add", 1) || r.is("offload", 1)) && r.peek(2)?.startsWith("@") === true;
    if (w === "ct") return r.is("count", 1);
    return true;
  },
  read,
  jsonKeys: ["last", "flow", "fwd", "dup", "meter", "ct count", "tproxy", "reset", "tunnel"],
  readJson,
  print: (s) => s.text,
  evaluate,
};

function read(r: StmtWordReader): NftOtherStmt | undefined {
  const w = r.peek()!;
  if (w === "flow") {
    const words = [r.take(), r.take(), r.take()];
    r.warn(r.position(), "flow offload is kept as written and not evaluated", words.join(" "));
    return { kind: "other", name: "flow", text: words.join(" ") };
  }
  if (w === "ct") return readCtCount(r);
  return r.keepToEnd(w, `the ${w} statement is kept as written and not evaluated`);
}

/** `ct count [over] N`. */
function readCtCount(r: StmtWordReader): NftOtherStmt | undefined {
  const words = [r.take(), r.take()];
  if (r.is("over")) words.push(r.take());
  const at = r.position();
  if (!/^[0-9]+$/.test(r.peek() ?? "")) return r.fail("a connection count");
  words.push(r.take());
  r.warn(at, "ct count is kept as written and evaluated as indeterminate", words.join(" "));
  return { kind: "other", name: "ct count", text: words.join(" ") };
}

/** `{"NAME": ...}`: the object's text, as written. */
function readJson(key: string, _v: JsonNode, n: JsonNode, { r }: StmtJsonReader): NftOtherStmt {
  return { kind: "other", name: key, text: r.source(n) };
}

/**
 * Statements netfate does not model that never give a verdict, so the rule goes on: flow
 * offload (later packets of the connection may skip the hooks; the first one is not affected),
 * dup (a copy is sent elsewhere, the packet itself goes on), secmark.
 */
const NO_VERDICT = /^(flow|dup|secmark)\b/;

function evaluate(s: NftOtherStmt, env: NftStmtEnv): StmtResult {
  if (NO_VERDICT.test(s.name)) {
    env.br.notes.push({ kind: "rewrite", field: s.name, value: `${s.text} (not modelled; it gives no verdict)` });
    return NEXT;
  }
  return { kind: "unknown-action", why: `${s.name}: netfate does not evaluate this statement (${s.text})` };
}
