/**
 * The text a trace shows for an nft rule. A plain summary for now, one function so the nft
 * printer can take its place in one line once it is merged.
 */
import type { NftElement, NftExpr, NftRule, NftStmt } from "../../model/nft.js";

export function nftRuleText(rule: NftRule): string {
  return rule.stmts.map(stmtText).join(" ");
}

export function exprText(e: NftExpr): string {
  switch (e.kind) {
    case "payload":
      return "protocol" in e ? `${e.protocol} ${e.field}` : `@${e.base},${e.offset},${e.len}`;
    case "meta":
      return `meta ${e.key}`;
    case "ct":
      return `ct ${e.dir ? `${e.dir} ` : ""}${e.family ? `${e.family} ` : ""}${e.key}`;
    case "fib":
      return `fib ${e.flags.join(" . ")} ${e.result}`;
    case "numgen":
      return `numgen ${e.mode} mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ""}`;
    case "hash":
      return `${e.mode}${e.expr ? ` ${exprText(e.expr)}` : ""} mod ${e.mod}${e.seed !== undefined ? ` seed 0x${e.seed.toString(16)}` : ""}${e.offset ? ` offset ${e.offset}` : ""}`;
    case "const":
      return e.text ?? (typeof e.value === "string" ? (/^[\w.:-]+$/.test(e.value) && !e.wildcard ? e.value : JSON.stringify(e.value)) : e.type === "mark" || e.type === "ct_mark" ? `0x${e.value.toString(16)}` : String(e.value));
    case "prefix":
      return `${exprText(e.base)}/${e.len}`;
    case "range":
      return `${exprText(e.lo)}-${exprText(e.hi)}`;
    case "concat":
      return e.parts.map(exprText).join(" . ");
    case "set":
      return `{ ${e.elements.map(elementText).join(", ")} }`;
    case "setref":
      return `@${e.name}`;
    case "map":
      return `${exprText(e.key)} map ${exprText(e.map)}`;
    case "binop":
      return `${exprText(e.left)} ${e.op} ${exprText(e.right)}`;
    case "verdict":
      return e.chain !== undefined ? `${e.verdict} ${e.chain}` : e.verdict;
    case "other":
      return e.text;
  }
}

export function elementText(el: NftElement): string {
  return el.data ? `${exprText(el.key)} : ${exprText(el.data)}` : exprText(el.key);
}

export function stmtText(s: NftStmt): string {
  switch (s.kind) {
    case "match":
      return `${exprText(s.left)} ${s.op === "implicit" ? "" : `${s.op} `}${exprText(s.right)}`;
    case "verdict":
      return exprText(s);
    case "vmap":
      return `${exprText(s.key)} vmap ${exprText(s.map)}`;
    case "counter":
      return "counter";
    case "log":
      return `log${s.prefix !== undefined ? ` prefix ${JSON.stringify(s.prefix)}` : ""}${s.group !== undefined ? ` group ${s.group}` : ""}`;
    case "limit":
      return `limit rate ${s.over ? "over " : ""}${s.rate}${s.unit ? ` ${s.unit}` : ""}/${s.per}${s.burst !== undefined ? ` burst ${s.burst}` : ""}`;
    case "quota":
      return `quota ${s.over ? "over " : ""}${s.bytes} ${s.unit ?? "bytes"}`;
    case "nat": {
      const to = s.addr || s.port ? ` to ${s.addr ? exprText(s.addr) : ""}${s.port ? `:${exprText(s.port)}` : ""}` : "";
      return `${s.type}${s.family ? ` ${s.family}` : ""}${to}${s.flags.length ? ` ${s.flags.join(",")}` : ""}`;
    }
    case "reject":
      return `reject${s.type ? ` with ${s.type}${s.code ? ` ${s.code}` : ""}` : ""}`;
    case "mangle":
      return `${exprText(s.target)} set ${exprText(s.value)}`;
    case "notrack":
      return "notrack";
    case "setop":
      return `${s.op} @${s.set} { ${exprText(s.key)}${s.data ? ` : ${exprText(s.data)}` : ""} }`;
    case "queue":
      return `queue${s.num !== undefined ? ` num ${s.num}` : ""}`;
    case "objref":
      return `${s.type} name ${exprText(s.name)}`;
    case "xt":
      return `xt ${s.type} ${s.name}`;
    case "other":
      return s.text;
  }
}
