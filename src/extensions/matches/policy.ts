/**
 * `-m policy --dir in|out --pol none|ipsec [--strict] [element options [--next ...]]`: the
 * IPsec processing a packet went through (`in`: its sec_path, from decapsulation) or will go
 * through (`out`: the xfrm bundle its route carries).
 *
 * What netfate assumes: a packet it traces arrived as described, in the clear — it never
 * models ESP/AH decapsulation — so it has no sec_path. For `--dir in` the kernel's answer is
 * then certain: xt_policy finds no policy and matches exactly when `--pol none` is given,
 * whatever the element options say. For `--dir out` the answer depends on the node's xfrm
 * policies (`ip xfrm policy`), which netfate is not told: indeterminate.
 */
import type { BindContext, MatchExtension, OptionSpec } from "../types.js";
import type { AddressMatch, Family, RawOption } from "../../model/ast.js";
import { parseAddress, addressText } from "../../model/address.js";
import { protocolName, protocolNumber } from "../protocols.js";
import { collectOptions } from "../util.js";

type Neg<T> = { negated: boolean; value: T };
type Addr = Omit<AddressMatch, "negated">;

export interface PolicyElement {
  reqid?: Neg<number>;
  spi?: Neg<number>;
  proto?: Neg<number>;
  mode?: Neg<"transport" | "tunnel">;
  tunnelDst?: Neg<Addr>;
  tunnelSrc?: Neg<Addr>;
}

export interface PolicyData {
  dir: "in" | "out";
  pol: "none" | "ipsec";
  strict: boolean;
  elements: PolicyElement[];
}

/** XT_POLICY_MAX_ELEM. */
const MAX_ELEMENTS = 4;
const IPSEC_PROTOS: ReadonlySet<number> = new Set([50, 51, 108]);

const ELEMENT_FLAGS = ["--reqid", "--spi", "--tunnel-src", "--tunnel-dst", "--proto", "--mode"] as const;

const OPTIONS: readonly OptionSpec[] = [
  { flags: ["--dir"], args: 1 },
  { flags: ["--pol"], args: 1 },
  { flags: ["--strict"], args: 0 },
  ...ELEMENT_FLAGS.map((f) => ({ flags: [f], args: 1, negatable: true })),
  { flags: ["--next"], args: 0 },
];

/** A tunnel endpoint as iptables prints it: the mask only when it is not a full one. */
function endpointText(a: Addr, family: Family): string {
  return a.prefixLength === (family === "ipv4" ? 32 : 128) ? a.address : addressText(a);
}

/** Binds one element option into `e`; false after reporting an error. */
function bindElement(e: PolicyElement, o: RawOption, ctx: BindContext): boolean {
  const v = o.values[0] ?? "";
  const key = ({ "--reqid": "reqid", "--spi": "spi", "--tunnel-src": "tunnelSrc", "--tunnel-dst": "tunnelDst", "--proto": "proto", "--mode": "mode" } as const)[
    o.flag as (typeof ELEMENT_FLAGS)[number]
  ];
  if (e[key]) {
    ctx.error(o.span, `policy match: double ${o.flag} option`);
    return false;
  }
  const bad = (expected: string) => (ctx.error(o.span, `policy match: bad value for ${o.flag}`, expected, v), false);
  switch (key) {
    case "reqid":
    case "spi": {
      const n = /^(0[xX][0-9a-fA-F]+|\d+)$/.test(v) ? Number(v) : NaN;
      if (!(n <= 0xffffffff)) return bad("a number 0-4294967295");
      e[key] = { negated: o.negated, value: n };
      return true;
    }
    case "proto": {
      const n = protocolNumber(v);
      if (n === undefined || !IPSEC_PROTOS.has(n)) return bad("ah, esp or ipcomp");
      e.proto = { negated: o.negated, value: n };
      return true;
    }
    case "mode":
      if (v !== "transport" && v !== "tunnel") return bad("transport or tunnel");
      e.mode = { negated: o.negated, value: v };
      return true;
    default: {
      const a = parseAddress(v, ctx.family);
      if (!a.ok) return bad(a.expected);
      e[key] = { negated: o.negated, value: a.value };
      return true;
    }
  }
}

function elementText(e: PolicyElement, prefix: string, numeric: boolean, family: Family): string {
  const n = (x: { negated: boolean }) => (x.negated ? " !" : "");
  let s = "";
  if (e.reqid) s += `${n(e.reqid)} ${prefix}reqid ${e.reqid.value}`;
  if (e.spi) s += `${n(e.spi)} ${prefix}spi 0x${e.spi.value.toString(16)}`;
  if (e.proto) s += `${n(e.proto)} ${prefix}proto ${numeric ? e.proto.value : protocolName(e.proto.value)}`;
  if (e.mode) s += `${n(e.mode)} ${prefix}mode ${e.mode.value}`;
  if (e.tunnelDst) s += `${n(e.tunnelDst)} ${prefix}tunnel-dst ${endpointText(e.tunnelDst.value, family)}`;
  if (e.tunnelSrc) s += `${n(e.tunnelSrc)} ${prefix}tunnel-src ${endpointText(e.tunnelSrc.value, family)}`;
  return s;
}

function flagsText(d: PolicyData, prefix: string): string {
  return ` ${prefix}dir ${d.dir} ${prefix}pol ${d.pol}${d.strict ? ` ${prefix}strict` : ""}`;
}

export const policy: MatchExtension<PolicyData> = {
  type: "match",
  name: "policy",
  reads: () => [],
  printPrefixes: ["policy match"],
  options: OPTIONS,
  parse(options, ctx, span) {
    const single = collectOptions(OPTIONS.slice(0, 3), options.filter((o) => ["--dir", "--pol", "--strict"].includes(o.flag)), ctx, "policy");
    const dir = single.get("--dir");
    const pol = single.get("--pol");
    const d: PolicyData = { dir: "in", pol: "ipsec", strict: single.has("--strict"), elements: [] };
    if (!dir) return void ctx.error(span, "policy match: neither --dir in nor --dir out specified", "--dir in|out");
    if (dir.values[0] !== "in" && dir.values[0] !== "out") return void ctx.error(dir.span, `policy match: invalid dir "${dir.values[0]}"`, "in or out", dir.values[0]);
    d.dir = dir.values[0];
    if (pol && pol.values[0] !== "none" && pol.values[0] !== "ipsec") return void ctx.error(pol.span, `policy match: invalid policy "${pol.values[0]}"`, "none or ipsec", pol.values[0]);
    if (pol) d.pol = pol.values[0] as "none";
    let current: PolicyElement = {};
    const elements: PolicyElement[] = [current];
    for (const o of options) {
      if (o.flag === "--next") {
        if (!d.strict) return void ctx.error(o.span, 'policy match: option "--next" also requires "--strict"', "--strict");
        if (elements.length === MAX_ELEMENTS) return void ctx.error(o.span, "policy match: maximum policy depth reached", `at most ${MAX_ELEMENTS} elements`);
        elements.push((current = {}));
      } else if ((ELEMENT_FLAGS as readonly string[]).includes(o.flag) && !bindElement(current, o, ctx)) return undefined;
    }
    if (d.pol === "none") {
      if (d.strict) return void ctx.error(single.get("--strict")!.span, "policy match: policy none but --strict given");
      if (elements.length > 1) return void ctx.error(pol!.span, "policy match: policy none but policy given");
      // iptables keeps no element for --pol none: options given anyway are dropped.
      const ignored = options.find((o) => (ELEMENT_FLAGS as readonly string[]).includes(o.flag));
      if (ignored) ctx.warning(ignored.span, `policy match: ${ignored.flag} is ignored with --pol none`);
      return d;
    }
    for (const [i, e] of elements.entries()) {
      if (d.strict && Object.keys(e).length === 0) {
        return void ctx.error(span, `policy match: empty policy element ${i}. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required.`);
      }
      // Endpoints need tunnel mode: an element without --mode is a transport one.
      const tunnel = e.mode !== undefined && (e.mode.value === "tunnel") !== e.mode.negated;
      if ((e.tunnelSrc || e.tunnelDst) && !tunnel) return void ctx.error(span, "policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode", "--mode tunnel");
    }
    d.elements = elements;
    return d;
  },
  save(d, ctx) {
    return flagsText(d, "--") + d.elements.map((e) => elementText(e, "--", false, ctx.family)).join(" --next");
  },
  print(d, ctx) {
    const many = d.elements.length > 1;
    return ` policy match${flagsText(d, "")}` + d.elements.map((e, i) => `${many ? ` [${i}]` : ""}${elementText(e, "", ctx.numeric, ctx.family)}`).join("");
  },
  parsePrint(s, ctx) {
    const head = s.match(/policy match dir (in|out) pol (none|ipsec)( strict)?(?=\s|$)/);
    if (!head) return undefined;
    const d: PolicyData = { dir: head[1] as "in", pol: head[2] as "none", strict: head[3] !== undefined, elements: [] };
    if (d.pol === "none") return d;
    let current: PolicyElement | undefined;
    for (;;) {
      const idx = s.match(/\[(\d)\](?=\s|$)/);
      if (idx) d.elements.push((current = {}));
      const m = s.match(/(! )?(reqid|spi|proto|mode|tunnel-dst|tunnel-src) (\S+)(?=\s|$)/);
      if (!m) break;
      if (!current) d.elements.push((current = {}));
      const negated = m[1] !== undefined;
      const v = m[3]!;
      if (m[2] === "reqid" || m[2] === "spi") {
        const n = Number(v);
        if (!Number.isInteger(n)) return undefined;
        current[m[2]] = { negated, value: n };
      } else if (m[2] === "proto") {
        const n = protocolNumber(v);
        if (n === undefined) return undefined;
        current.proto = { negated, value: n };
      } else if (m[2] === "mode") {
        if (v !== "transport" && v !== "tunnel") return undefined;
        current.mode = { negated, value: v };
      } else {
        const a = parseAddress(v, ctx.family);
        if (!a.ok) return undefined;
        current[m[2] === "tunnel-dst" ? "tunnelDst" : "tunnelSrc"] = { negated, value: a.value };
      }
    }
    if (d.elements.length === 0) d.elements.push({});
    return d;
  },
  evaluate(d, env) {
    const inHooks = env.hook === "PREROUTING" || env.hook === "INPUT";
    const outHooks = env.hook === "OUTPUT" || env.hook === "POSTROUTING";
    if ((d.dir === "out" && inHooks) || (d.dir === "in" && outHooks)) {
      return { indeterminate: `policy --dir ${d.dir} in ${env.hook}: the kernel refuses this direction in this hook, so the ruleset would not load` };
    }
    // No sec_path on a packet netfate traces (see the header): "no policy", which only
    // --pol none matches.
    if (d.dir === "in") return d.pol === "none";
    return { indeterminate: `policy --dir out --pol ${d.pol}: whether an IPsec (xfrm) policy of the node applies to this packet's route is not known` };
  },
};
