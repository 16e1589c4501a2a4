/**
 * FIB expressions: a routing lookup keyed by the packet (`fib daddr type`, `fib saddr . iif
 * oif`). nft prints the key flags joined by ` . ` in the order given, then the result.
 */
import type { NftFib } from "../../model/nft.js";
import type { ExprKind } from "./types.js";

const FLAGS = new Set(["saddr", "daddr", "mark", "iif", "oif"]);

export const FIB_RESULTS: Readonly<Record<NftFib["result"], string>> = {
  oif: "iface_index",
  oifname: "ifname",
  type: "fib_addrtype",
};

export const fibKind: ExprKind<NftFib> = {
  kind: "fib",
  keywords: ["fib"],
  starts(r) {
    return r.peek() === "fib";
  },
  read(r) {
    r.take();
    const flags: string[] = [];
    for (;;) {
      const w = r.peek();
      if (w === undefined || !FLAGS.has(w)) return r.fail("a fib key (saddr, daddr, mark, iif, oif)");
      flags.push(r.take());
      if (r.peek() !== ".") break;
      r.take();
    }
    const res = r.peek();
    if (res === undefined || !Object.hasOwn(FIB_RESULTS, res)) return r.fail("a fib result (oif, oifname, type)");
    r.take();
    return { kind: "fib", flags, result: res as NftFib["result"] };
  },
  type(e) {
    return [FIB_RESULTS[e.result]];
  },
  print(e) {
    return `fib ${e.flags.join(" . ")} ${e.result}`;
  },
};
