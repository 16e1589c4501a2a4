/** `numgen random mod 3`, `numgen inc mod 2 offset 1` (nft omits `offset 0` when listing). */
import type { NftNumgen } from "../../model/nft.js";
import { readUint, type ExprKind } from "./types.js";

export const numgenKind: ExprKind<NftNumgen> = {
  kind: "numgen",
  keywords: ["numgen"],
  starts(r) {
    return r.peek() === "numgen";
  },
  read(r) {
    r.take();
    const mode = r.peek();
    if (mode !== "random" && mode !== "inc") return r.fail("random or inc after numgen");
    r.take();
    if (r.peek() !== "mod") return r.fail("mod N");
    r.take();
    const mod = readUint(r.peek());
    if (mod === undefined || mod === 0) return r.fail("a modulus above 0");
    r.take();
    let offset = 0;
    if (r.peek() === "offset") {
      r.take();
      const o = readUint(r.peek());
      if (o === undefined) return r.fail("an offset");
      r.take();
      offset = o;
    }
    return { kind: "numgen", mode, mod, offset };
  },
  type() {
    return ["integer"];
  },
  print(e) {
    return `numgen ${e.mode} mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ""}`;
  },
};
