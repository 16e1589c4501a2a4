/**
 * `queue`, `queue flags bypass,fanout to 1-3`, `queue to jhash tcp dport mod 4` (a queue
 * number an expression gives, kept as printed). Evaluated: the verdict hands the packet to
 * userspace, whose answer the input does not hold.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftQueue } from "../../../model/nft.js";
import { verdictResult, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

export const queue: StmtKind<NftQueue> = {
  kind: "queue",
  words: ["queue"],
  read,
  jsonKeys: ["queue"],
  readJson,
  print,
  evaluate,
};

function read(r: StmtWordReader): NftQueue | undefined {
  r.take();
  const q: NftQueue = { kind: "queue" };
  for (;;) {
    if (r.accept("flags")) {
      q.flags ??= [];
      do {
        const f = r.peek();
        if (f !== "bypass" && f !== "fanout") return r.fail("bypass or fanout");
        q.flags.push(r.take());
      } while (r.accept(","));
    } else if (r.is("num") || r.is("to")) {
      r.take();
      if (r.startsExpression()) {
        const e = r.value(["integer"]);
        if (e === undefined) return undefined;
        q.num = r.exprText(e);
        continue;
      }
      if (!r.isWord()) return r.fail("a queue number or range");
      q.num = r.take();
    } else if (r.is("bypass") || r.is("fanout")) {
      (q.flags ??= []).push(r.take());
      r.accept(",");
    } else break;
  }
  return q;
}

/** `{"queue": {"num": 3 | {"range": [1, 3]}, "flags": "bypass" | [...]}}` or `{"queue": null}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftQueue | undefined {
  const { r } = j;
  if (v.kind === "null") return { kind: "queue" };
  const o = r.fields(v, "queue statement");
  if (!o) return undefined;
  const st: NftQueue = { kind: "queue" };
  const num = o.get("num");
  if (num) {
    const e = j.expr(num.value, ["integer"], "queue number");
    if (!e) return undefined;
    if (e.kind === "const") st.num = String(e.value);
    else if (e.kind === "range") st.num = `${String(e.lo.value)}-${String(e.hi.value)}`;
    // A computed queue number (`queue to jhash ...`): kept as its JSON text.
    else st.num = r.source(num.value);
  }
  const flags = r.strings(o, "flags", "queue statement");
  if (flags !== undefined) st.flags = flags;
  return st;
}

function print(s: NftQueue): string {
  let out = "queue";
  if (s.flags && s.flags.length > 0) out += ` flags ${s.flags.join(",")}`;
  if (s.num !== undefined) out += ` to ${s.num}`;
  return out;
}

function evaluate(s: NftQueue): StmtResult {
  return verdictResult("queue", undefined, s.num !== undefined ? `num ${s.num}` : undefined);
}
