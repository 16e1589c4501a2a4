/**
 * `notrack`: the packet is not tracked by conntrack (nft_notrack), which works only before
 * conntrack has seen it: a packet that already has an entry keeps it.
 */
import type { NftNotrack } from "../../../model/nft.js";
import { NEXT, type NftStmtEnv, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { StmtKind } from "./types.js";

export const notrack: StmtKind<NftNotrack> = {
  kind: "notrack",
  words: ["notrack"],
  read(r) {
    r.take();
    return { kind: "notrack" };
  },
  jsonKeys: ["notrack"],
  readJson: () => ({ kind: "notrack" }),
  print: () => "notrack",
  evaluate,
};

function evaluate(_s: NftNotrack, env: NftStmtEnv): StmtResult {
  if (env.beforeConntrack) env.br.pkt.ct.state = "UNTRACKED";
  else env.br.notes.push({ kind: "rewrite", field: "notrack", value: "no effect: conntrack has already seen the packet" });
  return NEXT;
}
