/**
 * Statements and rules as nft 1.0.6 lists them. Defaults nft leaves out are left out here too
 * (checked in a netns): `log level warn`, `limit ... burst 5 packets`, `jhash ... offset 0`,
 * a quota's `used 0`; `==` is printed only where it differs from the implicit match (a
 * bitmask's "any bit" or a masked value).
 */
import type { NftExpr, NftFamily, NftMatch, NftNat, NftReject, NftRule, NftStmt } from "../../model/nft.js";
import { boundChainRules } from "../side-facts.js";
import { BYTE_UNITS, isBitmaskType, numericTime, parseConst, printConst, printDuration, type PrintOptions } from "../datatypes.js";
import { expressionType, printNftExpr } from "./expr.js";

export interface RulePrintOptions extends PrintOptions {
  /** The family of the rule's table: nft lists a reject of the family's default kind as plain `reject`. */
  family?: NftFamily;
  /** `nft -a`: ` # handle N` after the rule. */
  handles?: boolean;
  /** `nft -s`: no counter values, no quota usage. */
  stateless?: boolean;
}


/** iptables-nft extensions nft 1.0.6 prints as their empty translation (two spaces in the rule). */
const SILENT_XT = new Set(["match comment"]);

/** One set bit: a single flag (`syn`), as opposed to several (`syn,ack`). */
function singleBit(e: NftExpr): boolean {
  if (e.kind !== "const" || typeof e.value !== "number") return false;
  return e.value !== 0 && (e.value & (e.value - 1)) === 0;
}

function sameConst(a: NftExpr, b: NftExpr): boolean {
  return a.kind === "const" && b.kind === "const" && a.value === b.value;
}

function printMatch(m: NftMatch, o: PrintOptions): string {
  const p = (e: NftExpr): string => printNftExpr(e, o);
  const type = expressionType(m.left.kind === "binop" ? m.left.left : m.left);
  const bitmask = type !== undefined && type.length === 1 && isBitmaskType(type[0]!);
  // `tcp flags & (fin|syn) == syn` lists as `tcp flags syn / fin,syn`, except one bit tested
  // against itself (`tcp flags & syn == syn`), which nft 1.0.6 prints as written.
  if (m.left.kind === "binop" && m.left.op === "&" && bitmask && (m.op === "==" || m.op === "!=") && m.left.right.kind === "const") {
    if (!(singleBit(m.right) && sameConst(m.right, m.left.right))) {
      return `${p(m.left.left)}${m.op === "!=" ? " !=" : ""} ${p(m.right)} / ${p(m.left.right)}`;
    }
  }
  // An exact comparison with several bits: ct state and status list them joined by ` | `
  // (without `==`), tcp flags as one hex number (checked with nft 1.0.6).
  if (bitmask && (m.op === "==" || m.op === "!=") && m.right.kind === "const" && typeof m.right.value === "number" && !singleBit(m.right)) {
    const bits = type![0] === "tcp_flag" ? `0x${m.right.value.toString(16)}` : printConst(m.right, o).split(",").join(" | ");
    return `${p(m.left)}${m.op === "!=" || type![0] === "tcp_flag" ? ` ${m.op}` : ""} ${bits}`;
  }
  const showEq = m.op === "==" && (bitmask || m.left.kind === "binop");
  const op = m.op === "implicit" || (m.op === "==" && !showEq) ? "" : ` ${m.op}`;
  return `${p(m.left)}${op} ${p(m.right)}`;
}

function amount(bytes: number, unit: string | undefined): string {
  const u = unit ?? "bytes";
  return `${Math.round(bytes / (BYTE_UNITS[u] ?? 1))} ${u}`;
}

/** `ADDR:PORT`, `[ADDR6]:PORT`, `:PORT`. */
function natTarget(s: NftNat, o: PrintOptions): string {
  const addr = s.addr ? printNftExpr(s.addr, o) : "";
  if (s.port === undefined) return addr;
  const port = printNftExpr(s.port, o);
  const six = s.addr !== undefined && (expressionType(s.addr)?.[0] === "ipv6_addr" || s.family === "ip6");
  return `${six && s.addr!.kind !== "map" ? `[${addr}]` : addr}:${port}`;
}

function printNat(s: NftNat, o: PrintOptions): string {
  let out = s.type;
  if (s.family) out += ` ${s.family}`;
  const flags = s.flags.filter((f) => f !== "prefix");
  if (s.flags.includes("prefix")) out += " prefix";
  if (s.addr !== undefined || s.port !== undefined) out += ` to ${natTarget(s, o)}`;
  if (flags.length > 0) out += ` ${flags.join(",")}`;
  return out;
}

/**
 * `reject with icmp port-unreachable` in an ip table, `icmpv6` in ip6, `icmpx` elsewhere: the
 * family's default, which nft 1.0.6 lists as `reject` (and JSON spells out).
 */
function isDefaultReject(s: NftReject, family: NftFamily | undefined): boolean {
  if (family === undefined || s.code === undefined) return false;
  const kind = family === "ip" ? "icmp" : family === "ip6" ? "icmpv6" : "icmpx";
  return s.type === kind && rejectCodeText(kind, s.code, {}) === "port-unreachable";
}

function rejectCodeText(type: string, code: string, o: PrintOptions): string {
  const dt = type === "icmp" ? "icmp_code" : type === "icmpv6" ? "icmpv6_code" : "icmpx_code";
  const c = parseConst(dt, code);
  return typeof c === "string" ? code : printConst(c, o);
}

export function printNftStmt(s: NftStmt, o: RulePrintOptions = {}): string {
  const p = (e: NftExpr): string => printNftExpr(e, o);
  switch (s.kind) {
    case "match":
      return printMatch(s, o);
    case "verdict":
      return p(s);
    case "vmap":
      return `${p(s.key)} vmap ${p(s.map)}`;
    case "counter":
      return o.stateless || s.packets === undefined ? "counter" : `counter packets ${s.packets} bytes ${s.bytes ?? 0}`;
    case "log": {
      let out = "log";
      if (s.prefix !== undefined) out += ` prefix "${s.prefix}"`;
      if (s.level !== undefined && s.level !== "warn") out += ` level ${s.level}`;
      if (s.group !== undefined) out += ` group ${s.group}`;
      if (s.snaplen !== undefined) out += ` snaplen ${s.snaplen}`;
      if (s.queueThreshold !== undefined) out += ` queue-threshold ${s.queueThreshold}`;
      // Each group of flags has its own word: `flags ip options flags ether`.
      for (const f of s.flags ?? []) out += ` flags ${f}`;
      return out;
    }
    case "limit": {
      let out = `limit rate ${s.over ? "over " : ""}${s.rate}${s.unit ? ` ${s.unit}` : ""}/${s.per}`;
      if (s.burst !== undefined) {
        if (s.unit === undefined && s.burstUnit === undefined) {
          if (s.burst !== 5) out += ` burst ${s.burst} packets`;
        } else if (s.burst !== 0) out += ` burst ${s.burst} ${s.burstUnit ?? "bytes"}`;
      }
      return out;
    }
    case "quota": {
      let out = `quota ${s.over ? "over " : ""}${amount(s.bytes, s.unit)}`;
      if (!o.stateless && s.used) out += ` used ${amount(s.used, s.usedUnit)}`;
      return out;
    }
    case "nat":
      return printNat(s, o);
    case "reject":
      if (s.type === undefined || isDefaultReject(s, o.family)) return "reject";
      if (s.type === "tcp reset") return "reject with tcp reset";
      return `reject with ${s.type}${s.code !== undefined ? ` ${rejectCodeText(s.type, s.code, o)}` : ""}`;
    case "mangle":
      return `${p(s.target)} set ${p(s.value)}`;
    case "notrack":
      return "notrack";
    case "setop": {
      let inner = p(s.key);
      if (s.timeout !== undefined) inner += ` timeout ${printDuration(s.timeout, numericTime(o))}`;
      for (const st of s.stmts ?? []) inner += ` ${printNftStmt(st, o)}`;
      if (s.data !== undefined) inner += ` : ${p(s.data)}`;
      return `${s.op} @${s.set} { ${inner} }`;
    }
    case "queue": {
      let out = "queue";
      if (s.flags && s.flags.length > 0) out += ` flags ${s.flags.join(",")}`;
      if (s.num !== undefined) out += ` to ${s.num}`;
      return out;
    }
    case "objref":
      return s.type.startsWith("ct ") ? `${s.type} set ${p(s.name)}` : `${s.type} name ${p(s.name)}`;
    case "xt":
      return SILENT_XT.has(`${s.type} ${s.name}`) ? "" : `xt ${s.type} ${s.name}`;
    case "other": {
      const bound = boundChainRules.get(s);
      if (!bound) return s.text;
      return `${s.name} {\n${bound.map((r) => `\t${printNftRule(r, o).replace(/\n/g, "\n\t")}\n`).join("")}}`;
    }
  }
}

/** One rule as nft lists it (without its indentation): statements, comment, `# handle N`. */
export function printNftRule(rule: NftRule, o: RulePrintOptions = {}): string {
  let out = rule.stmts.map((s) => printNftStmt(s, o)).join(" ");
  if (rule.comment !== undefined) out += `${out ? " " : ""}comment "${rule.comment}"`;
  if (o.handles && rule.handle !== undefined) out += ` # handle ${rule.handle}`;
  return out;
}
