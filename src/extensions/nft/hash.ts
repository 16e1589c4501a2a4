/**
 * `jhash ip saddr . tcp sport mod 2 seed 0x1 offset 0`, `symhash mod 2`. nft lists a seed
 * that was given (in hex, `seed 0x0` too) and omits `offset 0`.
 */
import type { NftHash } from "../../model/nft.js";
import { readUint, type ExprKind } from "./types.js";

export const hashKind: ExprKind<NftHash> = {
  kind: "hash",
  keywords: ["jhash", "symhash"],
  starts(r) {
    return r.peek() === "jhash" || r.peek() === "symhash";
  },
  read(r) {
    const mode = r.take() as NftHash["mode"];
    const out: NftHash = { kind: "hash", mode, mod: 0, offset: 0 };
    if (mode === "jhash") {
      const e = r.readConcat();
      if (e === undefined) return undefined;
      out.expr = e;
    }
    if (r.peek() !== "mod") return r.fail("mod N");
    r.take();
    const mod = readUint(r.peek());
    if (mod === undefined || mod === 0) return r.fail("a modulus above 0");
    r.take();
    out.mod = mod;
    if (mode === "jhash" && r.peek() === "seed") {
      r.take();
      const s = readUint(r.peek());
      if (s === undefined) return r.fail("a seed");
      r.take();
      out.seed = s;
    }
    if (r.peek() === "offset") {
      r.take();
      const o = readUint(r.peek());
      if (o === undefined) return r.fail("an offset");
      r.take();
      out.offset = o;
    }
    return out;
  },
  type() {
    return ["integer"];
  },
  print(e, sub) {
    let s = e.mode;
    if (e.expr) s += ` ${sub(e.expr)}`;
    s += ` mod ${e.mod}`;
    if (e.seed !== undefined) s += ` seed 0x${e.seed.toString(16)}`;
    if (e.offset) s += ` offset ${e.offset}`;
    return s;
  },
};
