/**
 * Statements and rules as nft 1.0.6 lists them: each statement kind prints itself
 * (src/extensions/nft/statements/, through its registry); relations, verdicts, verdict maps
 * and anonymous chains are printed here. Defaults nft leaves out are left out here too
 * (checked in a netns): `log level warn`, `limit ... burst 5 packets`, `jhash ... offset 0`,
 * a quota's `used 0`; `==` is printed only where it differs from the implicit match (a
 * bitmask's "any bit" or a masked value).
 */
import type { NftExpr, NftFamily, NftMatch, NftRule, NftStmt } from "../../model/nft.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";
import type { StmtPrinter } from "../../extensions/nft/statements/types.js";
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

function constText(type: string, word: string, o: PrintOptions): string {
  const c = parseConst(type, word);
  return typeof c === "string" ? word : printConst(c, o);
}

/** What a statement kind prints with, for the options. */
function printerFor(o: RulePrintOptions): StmtPrinter {
  return {
    expr: (e) => printNftExpr(e, o),
    type: expressionType,
    stmt: (s) => printNftStmt(s, o),
    stateless: o.stateless === true,
    family: o.family,
    duration: (ms) => printDuration(ms, numericTime(o)),
    constText: (type, word, byName) => constText(type, word, byName ? {} : o),
    amount,
  };
}

export function printNftStmt(s: NftStmt, o: RulePrintOptions = {}): string {
  switch (s.kind) {
    case "match":
      return printMatch(s, o);
    case "verdict":
      return printNftExpr(s, o);
    case "vmap":
      return `${printNftExpr(s.key, o)} vmap ${printNftExpr(s.map, o)}`;
    case "other": {
      const bound = boundChainRules.get(s);
      if (bound) return `${s.name} {\n${bound.map((r) => `\t${printNftRule(r, o).replace(/\n/g, "\n\t")}\n`).join("")}}`;
      break;
    }
  }
  return statementKind(s)!.print(s, printerFor(o));
}

/** One rule as nft lists it (without its indentation): statements, comment, `# handle N`. */
export function printNftRule(rule: NftRule, o: RulePrintOptions = {}): string {
  let out = rule.stmts.map((s) => printNftStmt(s, o)).join(" ");
  if (rule.comment !== undefined) out += `${out ? " " : ""}comment "${rule.comment}"`;
  if (o.handles && rule.handle !== undefined) out += ` # handle ${rule.handle}`;
  return out;
}
