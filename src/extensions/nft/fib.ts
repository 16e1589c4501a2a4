/**
 * FIB expressions: a routing lookup keyed by the packet (`fib daddr type`, `fib saddr . iif
 * oif`). nft prints the key flags joined by ` . ` in the order given, then the result.
 *
 * Evaluated as nft_fib looks up, answered by the node view. `daddr type` is the address type
 * (local, unicast...), `. iif` limiting it to the arriving device; `saddr . iif oif` is the
 * reverse path (a route back to the source out of the arriving device, what rp_filter
 * checks), `saddr oif` its loose form; the interface found is compared by name, and none is
 * `missing` (the empty name here, false as a boolean).
 */
import type { JsonNode } from "../../model/json.js";
import type { NftFib } from "../../model/nft.js";
import { unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { fieldVal, type XVal } from "../../model/nft-values.js";
import type { ExprKind, JsonExprReader } from "./types.js";

const FLAGS = new Set(["saddr", "daddr", "mark", "iif", "oif"]);

export const FIB_RESULTS: Readonly<Record<NftFib["result"], string>> = {
  oif: "iface_index",
  oifname: "ifname",
  type: "fib_addrtype",
};

export const fib: ExprKind<NftFib> = {
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
  jsonKeys: ["fib"],
  readJson,
  type(e) {
    return [FIB_RESULTS[e.result]];
  },
  print(e) {
    return `fib ${e.flags.join(" . ")} ${e.result}`;
  },
  evaluate,
};

/** `{"fib": {"flags": ["daddr"], "result": "type"}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: JsonExprReader): NftFib | undefined {
  const o = r.fields(v, "fib expression");
  if (!o) return undefined;
  const result = r.oneOf(o, "result", "fib expression", ["oif", "oifname", "type"] as const);
  if (result === null) return undefined;
  if (result === undefined) return void r.error(v, 'fib expression has no "result"', '"oif", "oifname" or "type"');
  const flags = r.strings(o, "flags", "fib expression") ?? [];
  return { kind: "fib", flags, result };
}

/** nft's fib_addrtype numbers, the kernel's RTN_* order. */
const ADDR_TYPES = ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"];

function evaluate(e: NftFib, env: NftExprEnv): XVal {
  const p = env.br.pkt;
  const byDaddr = e.flags.includes("daddr");
  const iif = e.flags.includes("iif");
  const oif = e.flags.includes("oif");
  if (!env.node.known) return unknown(`fib ${e.flags.join(" . ")} ${e.result}: no node facts (addresses and routes) were given`);
  if (e.result === "type") {
    const ip = byDaddr ? p.dst : p.src;
    const dev = iif ? p.inIface : oif ? p.outIface : undefined;
    if ((iif || oif) && dev === undefined) return fieldVal(0);
    const t = env.node.addressType(ip, p.family, dev);
    if (typeof t === "object") return unknown(`fib type of ${ip}: ${t.indeterminate}`);
    return fieldVal(ADDR_TYPES.indexOf(t));
  }
  // oif / oifname: the device a route for the address goes out of.
  if (!byDaddr) {
    // The reverse path: the source routed back, from the packet's destination.
    if (p.inIface === undefined) return unknown("fib saddr oif needs the arriving interface");
    const r = env.node.reversePath({ family: p.family, src: p.src, dst: p.dst, mark: e.flags.includes("mark") ? p.mark : 0, iif: p.inIface, proto: p.proto }, { loose: !iif, acceptLocal: true, validMark: e.flags.includes("mark") });
    if (typeof r === "object") return unknown(`fib ${e.flags.join(" . ")} ${e.result}: ${r.indeterminate}`);
    // Strict (`. iif`): found means out of the arriving device itself; loose: out of some device.
    if (!r) return value("");
    if (iif) return value(p.inIface);
    const back = env.node.routeOutput({ family: p.family, dst: p.src, mark: 0, proto: p.proto });
    return back.kind === "unicast" ? value(back.dev) : unknown(`fib saddr oif: the device a route back to ${p.src} leaves by is not known`);
  }
  const d = p.inIface !== undefined
    ? env.node.routeInput({ family: p.family, src: p.src, dst: p.dst, mark: e.flags.includes("mark") ? p.mark : 0, iif: p.inIface, proto: p.proto })
    : env.node.routeOutput({ family: p.family, src: p.src, dst: p.dst, mark: e.flags.includes("mark") ? p.mark : 0, proto: p.proto });
  if (d.kind === "indeterminate") return unknown(`fib daddr ${e.result}: ${d.reason}`);
  const dev = d.kind === "unicast" ? d.dev : d.kind === "local" ? d.dev ?? "lo" : "";
  if (oif && dev !== (p.outIface ?? "")) return value("");
  return value(dev);
}
