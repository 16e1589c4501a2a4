/**
 * `counter`, `counter packets 3 bytes 180` (nft -s lists no values), and a named counter
 * (`counter name "c"`, an object reference). Counting changes no packet: the rule goes on.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftCounter, NftStmt } from "../../../model/nft.js";
import { NEXT, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import { isMapObjRef, objRef, objRefJson } from "./object-name.js";
import type { StmtJsonReader, StmtKind, StmtPrinter, StmtWordReader } from "./types.js";

export const counter: StmtKind<NftCounter> = {
  kind: "counter",
  words: ["counter"],
  read,
  jsonKeys: ["counter"],
  readJson,
  print,
  evaluate,
};

function read(r: StmtWordReader): NftStmt | undefined {
  r.take();
  if (r.is("name")) {
    r.take();
    return objRef(r, "counter");
  }
  if (!r.is("packets")) return { kind: "counter" };
  r.take();
  const packets = r.uint("a packet count");
  if (packets === undefined || !r.expect("bytes")) return undefined;
  const bytes = r.uint("a byte count");
  return bytes === undefined ? undefined : { kind: "counter", packets, bytes };
}

/** `{"counter": null}` (stateless listing), `{"counter": {"packets", "bytes"}}`, or a named counter. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftStmt | undefined {
  const { r } = j;
  if (v.kind === "null") return { kind: "counter" };
  if (v.kind !== "object" || isMapObjRef(v)) return objRefJson(j, "counter", v);
  const o = r.fields(v, "counter")!;
  const packets = r.int(o, "packets", "counter");
  const bytes = r.int(o, "bytes", "counter");
  return { kind: "counter", ...(packets !== undefined && { packets }), ...(bytes !== undefined && { bytes }) };
}

function print(s: NftCounter, p: StmtPrinter): string {
  return p.stateless || s.packets === undefined ? "counter" : `counter packets ${s.packets} bytes ${s.bytes ?? 0}`;
}

function evaluate(): StmtResult {
  return NEXT;
}
