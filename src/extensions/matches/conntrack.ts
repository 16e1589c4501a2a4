/**
 * `-m conntrack`: the packet's connection as conntrack sees it — state (with the virtual
 * SNAT/DNAT states), status bits, direction, original and reply tuples.
 */
import type { MatchExtension, Witness } from "../types.js";
import type { PacketState } from "../../model/evaluation.js";
import { addressText, applyMask, hostMaskLengthProblem, hostMaskMatch, inNet, ipToNum, maskFromPrefix } from "../../model/address.js";
import type { AddressMatch, Family } from "../../model/ast.js";
import { iptablesProtocol } from "../protocols.js";
import { cNumber, decimalNumber } from "../../model/c-number.js";

export const CT_STATES = ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"] as const;
export type CtStateName = (typeof CT_STATES)[number];
const CT_STATUS = ["NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"] as const;

type Neg<T> = T & { negated: boolean };
type Range = { lo: number; hi: number };

export interface ConntrackData {
  state?: Neg<{ states: CtStateName[] }>;
  proto?: Neg<{ number: number }>;
  origsrc?: Neg<{ addr: Omit<AddressMatch, "negated"> }>;
  origdst?: Neg<{ addr: Omit<AddressMatch, "negated"> }>;
  replsrc?: Neg<{ addr: Omit<AddressMatch, "negated"> }>;
  repldst?: Neg<{ addr: Omit<AddressMatch, "negated"> }>;
  origsrcport?: Neg<Range>;
  origdstport?: Neg<Range>;
  replsrcport?: Neg<Range>;
  repldstport?: Neg<Range>;
  status?: Neg<{ bits: string[] }>;
  expire?: Neg<Range>;
  dir?: "ORIGINAL" | "REPLY";
}

const ADDR_KEYS = ["origsrc", "origdst", "replsrc", "repldst"] as const;
const PORT_KEYS = ["origsrcport", "origdstport", "replsrcport", "repldstport"] as const;

function parseList<T extends string>(text: string, all: readonly T[]): T[] | string {
  const out: T[] = [];
  for (const w of text.split(",")) {
    const u = w.toUpperCase() as T;
    if (!all.includes(u)) return w;
    if (!out.includes(u)) out.push(u);
  }
  return out.sort((a, b) => all.indexOf(a) - all.indexOf(b));
}

/**
 * `N[:M]`, each read by `read`: `--ctexpire` is base 0 (`010:0x64` is 8:100); the port options
 * go through getaddrinfo, decimal (`080` is 80, `0x50` no port).
 */
function range(text: string, max: number, read: (t: string, max: number) => number | undefined): Range | undefined {
  const colon = text.indexOf(":");
  const lo = read(colon < 0 ? text : text.slice(0, colon), max);
  const hi = colon < 0 ? lo : read(text.slice(colon + 1), max);
  return lo !== undefined && hi !== undefined && lo <= hi ? { lo, hi } : undefined;
}

function rangeText(r: Range): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}:${r.hi}`;
}

/** conntrack prints a full-length mask without the prefix (`--ctorigdst 10.96.0.10`). */
function ctAddrText(a: Omit<AddressMatch, "negated">, family: Family): string {
  const full = family === "ipv4" ? 32 : 128;
  return a.prefixLength === full ? a.address : addressText(a);
}

function inAddr(ip: string | undefined, a: Omit<AddressMatch, "negated">, family: Family): boolean {
  if (ip === undefined) return false;
  const n = ipToNum(ip, family);
  const net = ipToNum(a.address, family);
  const mask = a.prefixLength !== null ? maskFromPrefix(a.prefixLength, family) : ipToNum(a.mask!, family);
  if (n === undefined || net === undefined || mask === undefined) return false;
  // The address keeps the bits outside its mask as written (xt_conntrack compares under the mask).
  return inNet(n, { net: applyMask(net, mask), mask });
}

export function effectiveStates(p: PacketState): CtStateName[] {
  const s: CtStateName[] = [p.ct.state];
  if (p.ct.status.has("SNAT")) s.push("SNAT");
  if (p.ct.status.has("DNAT")) s.push("DNAT");
  return s;
}

/**
 * What `--ctstate` / `--state` asks the packet search for: a packet of an established
 * connection, when the states accept ESTABLISHED but not NEW.
 */
export function stateWitnesses(s: { negated: boolean; states: readonly string[] } | undefined): Witness[] {
  return s && !s.negated && s.states.includes("ESTABLISHED") && !s.states.includes("NEW") ? [{ kind: "fields", want: { established: true } }] : [];
}

/** The options as iptables-save (`dashes` "--") or `-L` ("") prints them: the same words in the same order. */
function optionsText(d: ConntrackData, family: Family, dashes: string): string {
  const n = (x: { negated: boolean }) => (x.negated ? " !" : "");
  let s = "";
  if (d.state) s += `${n(d.state)} ${dashes}ctstate ${d.state.states.join(",")}`;
  if (d.proto) s += `${n(d.proto)} ${dashes}ctproto ${d.proto.number}`;
  for (const k of ADDR_KEYS) if (d[k]) s += `${n(d[k]!)} ${dashes}ct${k} ${ctAddrText(d[k]!.addr, family)}`;
  for (const k of PORT_KEYS) if (d[k]) s += `${n(d[k]!)} ${dashes}ct${k} ${rangeText(d[k]!)}`;
  if (d.status) s += `${n(d.status)} ${dashes}ctstatus ${d.status.bits.join(",")}`;
  if (d.expire) s += `${n(d.expire)} ${dashes}ctexpire ${rangeText(d.expire)}`;
  if (d.dir) s += ` ${dashes}ctdir ${d.dir}`;
  return s;
}

export const conntrack: MatchExtension<ConntrackData> = {
  type: "match",
  name: "conntrack",
  reads: (d) => (d.origsrc || d.origdst || d.replsrc || d.repldst || d.origsrcport || d.origdstport || d.replsrcport || d.repldstport ? ["src", "sport", "dst", "dport"] : d.expire ? ["state"] : []),
  needsConntrack: true,
  witnesses: (d) => stateWitnesses(d.state),
  printPrefixes: ["ctstate", "! ctstate", "ctproto", "! ctproto", "ctorig", "! ctorig", "ctrepl", "! ctrepl", "ctstatus", "! ctstatus", "ctexpire", "! ctexpire", "ctdir"],
  options: [
    { flags: ["--ctstate"], args: 1, negatable: true },
    { flags: ["--ctproto"], args: 1, negatable: true },
    { flags: ["--ctorigsrc"], args: 1, negatable: true },
    { flags: ["--ctorigdst"], args: 1, negatable: true },
    { flags: ["--ctreplsrc"], args: 1, negatable: true },
    { flags: ["--ctrepldst"], args: 1, negatable: true },
    { flags: ["--ctorigsrcport"], args: 1, negatable: true },
    { flags: ["--ctorigdstport"], args: 1, negatable: true },
    { flags: ["--ctreplsrcport"], args: 1, negatable: true },
    { flags: ["--ctrepldstport"], args: 1, negatable: true },
    { flags: ["--ctstatus"], args: 1, negatable: true },
    { flags: ["--ctexpire"], args: 1, negatable: true },
    { flags: ["--ctdir"], args: 1 },
  ],
  parse(options, ctx) {
    const d: ConntrackData = {};
    for (const o of options) {
      const v = o.values[0] ?? "";
      const key = o.flag.slice(4);
      switch (o.flag) {
        case "--ctstate": {
          const l = parseList(v, CT_STATES);
          if (typeof l === "string") return void ctx.error(o.span, "conntrack: unknown state", CT_STATES.join(", "), l);
          d.state = { negated: o.negated, states: l };
          break;
        }
        case "--ctproto": {
          const n = iptablesProtocol(v);
          if (n === undefined) return void ctx.error(o.span, "conntrack: unknown protocol", "a protocol name or number", v);
          d.proto = { negated: o.negated, number: n };
          break;
        }
        case "--ctstatus": {
          const l = parseList(v, CT_STATUS);
          if (typeof l === "string") return void ctx.error(o.span, "conntrack: unknown status", CT_STATUS.join(", "), l);
          d.status = { negated: o.negated, bits: l };
          break;
        }
        case "--ctexpire": {
          const r = range(v, 0xffffffff, cNumber);
          if (!r) return void ctx.error(o.span, "conntrack: bad --ctexpire", "SECONDS[:SECONDS]", v);
          d.expire = { negated: o.negated, ...r };
          break;
        }
        case "--ctdir":
          if (v !== "ORIGINAL" && v !== "REPLY") return void ctx.error(o.span, "conntrack: bad --ctdir", "ORIGINAL or REPLY", v);
          d.dir = v;
          break;
        default:
          if ((ADDR_KEYS as readonly string[]).includes(key)) {
            // The option parser's host-and-mask type (hostMaskMatch): `--ctorigdst 10.1` is 10.0.0.1.
            const a = hostMaskMatch(v, ctx.family);
            if (!a) return void ctx.error(o.span, `conntrack: ${hostMaskLengthProblem(v, ctx.family) ?? `bad ${o.flag}`}`, `a numeric ${ctx.family === "ipv4" ? "IPv4" : "IPv6"} address[/mask]`, v);
            d[key as (typeof ADDR_KEYS)[number]] = { negated: o.negated, addr: a };
          } else {
            const r = range(v, 65535, decimalNumber);
            if (!r) return void ctx.error(o.span, `conntrack: bad ${o.flag}`, "PORT[:PORT]", v);
            d[key as (typeof PORT_KEYS)[number]] = { negated: o.negated, ...r };
          }
      }
    }
    return d;
  },
  save: (d, ctx) => optionsText(d, ctx.family, "--"),
  print: (d, ctx) => optionsText(d, ctx.family, ""),
  evaluate(d, env) {
    const p = env.packet;
    const ct = p.ct;
    const t = (hit: boolean, x: { negated: boolean }) => hit !== x.negated;
    if (d.state && !t(d.state.states.some((s) => effectiveStates(p).includes(s)), d.state)) return false;
    const tracked = ct.state !== "INVALID" && ct.state !== "UNTRACKED";
    // Tuple, status and expiry tests need a tracked connection; the kernel fails them otherwise.
    if ((d.proto || d.origsrc || d.origdst || d.replsrc || d.repldst || d.origsrcport || d.origdstport || d.replsrcport || d.repldstport || d.status || d.expire || d.dir) && !tracked) return false;
    if (d.proto && !t(p.proto === d.proto.number, d.proto)) return false;
    const tuples = { orig: ct.orig, repl: ct.reply };
    for (const k of ADDR_KEYS) {
      const spec = d[k];
      if (!spec) continue;
      const tup = tuples[k.startsWith("orig") ? "orig" : "repl"];
      const ip = k.endsWith("src") ? tup.src : tup.dst;
      if (!t(inAddr(ip, spec.addr, p.family), spec)) return false;
    }
    for (const k of PORT_KEYS) {
      const spec = d[k];
      if (!spec) continue;
      const tup = tuples[k.startsWith("orig") ? "orig" : "repl"];
      const port = k.includes("src") ? tup.sport : tup.dport;
      if (port === undefined) return { indeterminate: "the connection's ports are not given" };
      if (!t(port >= spec.lo && port <= spec.hi, spec)) return false;
    }
    // A bit the inputs do not decide for this packet (ct.statusUnknown) leaves the answer open.
    let open: string | undefined;
    if (d.status) {
      const unknown = ct.statusUnknown ?? {};
      const anyUnknown = Object.keys(unknown).length > 0;
      const has = d.status.bits.some((b) => (b === "NONE" ? ct.status.size === 0 && !anyUnknown : ct.status.has(b as "ASSURED")));
      const maybe = has ? undefined : d.status.bits.map((b) => (b === "NONE" ? (ct.status.size === 0 ? Object.values(unknown)[0] : undefined) : unknown[b as "ASSURED"])).find((w) => w !== undefined);
      if (maybe !== undefined) open = maybe;
      else if (!t(has, d.status)) return false;
    }
    if (d.dir && ct.dir !== d.dir) return false;
    if (d.expire) return { indeterminate: "the connection's remaining lifetime is not known" };
    if (open !== undefined) return { indeterminate: open };
    return true;
  },
  parsePrint(s, ctx) {
    const d: ConntrackData = {};
    let any = false;
    for (;;) {
      const m = s.match(/(! )?ct(state|proto|origsrc|origdst|replsrc|repldst|origsrcport|origdstport|replsrcport|repldstport|status|expire|dir) (\S+)/);
      if (!m) break;
      any = true;
      const negated = m[1] !== undefined;
      const v = m[3]!;
      const k = m[2]!;
      if (k === "state") d.state = { negated, states: v.split(",") as CtStateName[] };
      else if (k === "proto") d.proto = { negated, number: Number(v) };
      else if (k === "status") d.status = { negated, bits: v.split(",") };
      else if (k === "dir") d.dir = v as "ORIGINAL";
      else if (k === "expire") d.expire = { negated, ...range(v, 0xffffffff, cNumber)! };
      else if ((ADDR_KEYS as readonly string[]).includes(k)) {
        const a = hostMaskMatch(v, ctx.family);
        if (!a) return undefined;
        d[k as (typeof ADDR_KEYS)[number]] = { negated, addr: a };
      } else {
        const r = range(v, 65535, decimalNumber);
        if (!r) return undefined;
        d[k as (typeof PORT_KEYS)[number]] = { negated, ...r };
      }
    }
    return any ? d : undefined;
  },
};
