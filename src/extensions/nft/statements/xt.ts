/**
 * `xt match NAME`, `xt target NAME`: an iptables extension iptables-nft put in the ruleset that
 * nft cannot show. Evaluated as indeterminate: the iptables-save dump shows what it is.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftXt } from "../../../model/nft.js";
import type { StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

/** Extensions nft 1.0.6 prints as their empty translation (two spaces in the rule). */
const SILENT = new Set(["match comment"]);

export const xt: StmtKind<NftXt> = {
  kind: "xt",
  words: ["xt"],
  read,
  jsonKeys: ["xt"],
  readJson,
  print: (s) => (SILENT.has(`${s.type} ${s.name}`) ? "" : `xt ${s.type} ${s.name}`),
  evaluate,
  // Only iptables-nft writes an extension nft cannot show.
  tableManager: "iptables-nft",
};

function read(r: StmtWordReader): NftXt | undefined {
  r.take();
  const type = r.peek();
  if (type !== "match" && type !== "target" && type !== "watcher") return r.fail("match, target or watcher after xt");
  r.take();
  const name = r.string("the name of the iptables extension");
  if (name === undefined) return undefined;
  r.warn(r.position() - 1, `xt ${type} ${name} is an iptables extension nft cannot show; it is evaluated as indeterminate`);
  return { kind: "xt", type, name };
}

function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: StmtJsonReader): NftXt | undefined {
  const o = r.fields(v, "xt statement");
  if (!o) return undefined;
  const type = r.oneOf(o, "type", "xt statement", ["match", "target", "watcher"] as const);
  const name = r.needStr(v, o, "name", "xt statement");
  if (type === undefined) r.error(v, 'xt statement has no "type"', '"match", "target" or "watcher"');
  return type && name !== undefined ? { kind: "xt", type, name } : undefined;
}

function evaluate(s: NftXt): StmtResult {
  return s.type === "match"
    ? { kind: "unknown-test", why: `xt match ${s.name}: an iptables match nft could not translate (give the iptables-save dump)` }
    : { kind: "unknown-action", why: `xt ${s.type} ${s.name}: an iptables ${s.type} nft could not translate (give the iptables-save dump)` };
}
