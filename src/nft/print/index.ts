/**
 * A ruleset printed exactly as `nft list ruleset` (nft 1.0.6) prints it: one tab per level,
 * a blank line between the objects of a table, none between tables; `-a` handles as
 * `# handle N` after the opening brace or the rule; `-s` without counter values.
 *
 * Element lists of named sets wrap as nft's calculate_delim does (checked in a netns): after
 * every 5 elements for small integer-like keys (ports, protocols, marks), every 2 for IPv4
 * addresses and ct state/status, every element for anything else (IPv6, MAC, strings,
 * concatenations), continuing on a line indented by three tabs and five spaces. Anonymous
 * sets in rules never wrap.
 */
import type { NftChain, NftElement, NftFlowtable, NftObject, NftRuleset, NftSet, NftTable } from "../../model/nft.js";
import { numericTime, printDuration, type PrintOptions } from "../datatypes.js";
import { intervalDataMaps } from "../side-facts.js";
import { printNftElement, printNftExpr } from "./expr.js";
import { printPriority } from "../text/priority.js";
import { printNftRule, printNftStmt, type RulePrintOptions } from "./statements.js";

export { printNftRule, printNftStmt, type RulePrintOptions };
export { printNftElement };

export interface RulesetPrintOptions extends PrintOptions {
  handles?: boolean;
  stateless?: boolean;
  /** `nft -y`: priorities as numbers (`-n` implies it). */
  numericPriority?: boolean;
  /** `nft -t`: sets without their elements. */
  terse?: boolean;
}

const FIVE_PER_LINE = new Set(["nf_proto", "integer", "arp_op", "inet_proto", "inet_service", "tcp_flag", "dccp_pkttype", "mark", "iface_index", "classid", "uid", "gid", "ct_dir"]);
const TWO_PER_LINE = new Set(["ipv4_addr", "ct_state", "ct_status", "pkttype"]);
const CONTINUATION = ",\n\t\t\t     ";

function handle(h: number | undefined, o: RulesetPrintOptions): string {
  return o.handles && h !== undefined ? ` # handle ${h}` : "";
}

/** `elements = { ... }` of a named set, wrapped as nft wraps it. */
function printElements(set: NftSet, o: RulesetPrintOptions): string {
  const perLine = set.keyType.length !== 1 ? 1 : FIVE_PER_LINE.has(set.keyType[0]!) ? 5 : TWO_PER_LINE.has(set.keyType[0]!) ? 2 : 1;
  let out = "elements = { ";
  set.elements.forEach((el, i) => {
    if (i > 0) out += i % perLine === 0 ? CONTINUATION : ", ";
    out += printNftElement(el, o);
  });
  return out + " }";
}

function printSet(set: NftSet, o: RulesetPrintOptions): string[] {
  const lines = [`\t${set.kind} ${set.name} {${handle(set.handle, o)}`];
  const key = set.keyTypeof ? `typeof ${set.keyTypeof.map((e) => printNftExpr(e, o)).join(" . ")}` : `type ${set.keyType.join(" . ")}`;
  let data = "";
  if (set.kind === "map") {
    if (set.dataTypeof) data = ` : ${intervalDataMaps.has(set) ? "interval " : ""}${set.dataTypeof.map((e) => printNftExpr(e, o)).join(" . ")}`;
    else if (set.dataType) {
      // A map whose values are ranges or prefixes says so: `: interval ipv4_addr`.
      const interval = intervalDataMaps.has(set) || set.elements.some((e) => e.data?.kind === "prefix" || e.data?.kind === "range");
      data = ` : ${interval ? "interval " : ""}${set.dataType.join(" . ")}`;
    }
  }
  lines.push(`\t\t${key}${data}`);
  if (set.policy) lines.push(`\t\tpolicy ${set.policy}`);
  if (set.size !== undefined) lines.push(`\t\tsize ${set.size}`);
  if (set.flags.length > 0) lines.push(`\t\tflags ${set.flags.join(",")}`);
  if (set.counter) lines.push("\t\tcounter");
  if (set.autoMerge) lines.push("\t\tauto-merge");
  if (set.timeout !== undefined) lines.push(`\t\ttimeout ${printDuration(set.timeout, numericTime(o))}`);
  if (set.gcInterval !== undefined) lines.push(`\t\tgc-interval ${printDuration(set.gcInterval, numericTime(o))}`);
  if (set.comment !== undefined) lines.push(`\t\tcomment "${set.comment}"`);
  if (set.elements.length > 0 && !o.terse) lines.push(`\t\t${printElements(set, o)}`);
  lines.push("\t}");
  return lines;
}

function printChain(ch: NftChain, family: NftTable["family"], o: RulesetPrintOptions): string[] {
  const lines = [`\tchain ${ch.name} {${handle(ch.handle, o)}`];
  if (ch.comment !== undefined) lines.push(`\t\tcomment "${ch.comment}"`);
  if (ch.base) {
    const b = ch.base;
    let dev = "";
    if (b.devices && b.devices.length === 1) dev = ` device "${b.devices[0]}"`;
    else if (b.devices && b.devices.length > 1) dev = ` devices = { ${b.devices.join(", ")} }`;
    const prio = o.numeric || o.numericPriority ? String(b.priority) : printPriority(b.priority, family, b.hook);
    lines.push(`\t\ttype ${b.type} hook ${b.hook}${dev} priority ${prio}; policy ${b.policy ?? "accept"};`);
  }
  // A rule with an anonymous chain spans lines: its inner lines are indented one level more.
  const ro = { ...o, family };
  for (const r of ch.rules) lines.push(`\t\t${printNftRule(r, ro).replace(/\n/g, "\n\t\t")}`);
  lines.push("\t}");
  return lines;
}

function printObject(obj: NftObject, o: RulesetPrintOptions): string[] {
  const lines = [`\t${obj.type} ${obj.name} {${handle(obj.handle, o)}`];
  if (obj.type === "counter") {
    const packets = obj.props.find((p) => p.key === "packets")?.value;
    const bytes = obj.props.find((p) => p.key === "bytes")?.value;
    if (!o.stateless && packets !== undefined) lines.push(`\t\tpackets ${packets} bytes ${bytes ?? 0}`);
  } else {
    for (const p of obj.props) {
      let text = p.key === "" ? String(p.value) : `${p.key}${p.value === "" ? "" : ` ${p.value}`}`;
      // `-s` leaves out what a quota has used.
      if (o.stateless && obj.type === "quota") text = text.replace(/ used [0-9]+ [a-z]+$/, "");
      lines.push(`\t\t${text}`);
    }
  }
  if (obj.comment !== undefined) lines.push(`\t\tcomment "${obj.comment}"`);
  lines.push("\t}");
  return lines;
}

function printFlowtable(ft: NftFlowtable, family: NftTable["family"], o: RulesetPrintOptions): string[] {
  const prio = o.numeric || o.numericPriority ? String(ft.priority) : printPriority(ft.priority, family, ft.hook);
  const lines = [`\tflowtable ${ft.name} {${handle(ft.handle, o)}`, `\t\thook ${ft.hook} priority ${prio}`];
  if (ft.devices.length > 0) lines.push(`\t\tdevices = { ${ft.devices.join(", ")} }`);
  const flags = ft.flags.filter((f) => f !== "counter");
  if (flags.length > 0) lines.push(`\t\tflags ${flags.join(",")}`);
  if (ft.flags.includes("counter")) lines.push("\t\tcounter");
  lines.push("\t}");
  return lines;
}

export function printNftTable(t: NftTable, o: RulesetPrintOptions = {}): string {
  const lines = [`table ${t.family} ${t.name} {${handle(t.handle, o)}`];
  if (t.flags.length > 0) lines.push(`\tflags ${t.flags.join(",")}`);
  if (t.comment !== undefined) lines.push(`\tcomment "${t.comment}"`);
  const blocks: string[][] = [
    ...t.objects.map((x) => printObject(x, o)),
    ...t.sets.map((x) => printSet(x, o)),
    ...t.flowtables.map((x) => printFlowtable(x, t.family, o)),
    ...t.chains.map((x) => printChain(x, t.family, o)),
  ];
  blocks.forEach((b, i) => {
    if (i > 0) lines.push("");
    for (const l of b) lines.push(l);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** The whole ruleset as `nft list ruleset` prints it (`handles`: `-a`; `stateless`: `-s`; `numeric`: `-n`). */
export function printNftRuleset(rs: NftRuleset, o: RulesetPrintOptions = {}): string {
  return rs.tables.map((t) => printNftTable(t, o)).join("");
}
