/**
 * Policy routing rules from what users have: `ip rule show` text, `ip -j rule` JSON (each
 * object is turned into the line ip would print for it, so both forms mean the same), and
 * node.json's `rules` / `rules6` lists of such lines.
 *
 * ip prints one family per run and, for a rule without addresses (`from all lookup main`),
 * does not say which: the family is what the rules' addresses say, else what the file's
 * name says (ip6-rule.json, as `netfate collect` names it), else IPv4 (ip's default) with a
 * warning that says so.
 */
import type { Family } from "../model/ast.js";
import type { DiagnosticSink } from "../model/diagnostics.js";
import type { FactRule, NodeFacts } from "./model.js";
import type { JsonInput } from "./json-input.js";
import type { JsonNode } from "./located-json.js";
import { parseRuleLine, type RuleLineParse } from "./rule-line.js";

/** One rule line and where each of its columns came from in the input. */
export interface RuleText {
  line: string;
  /** The input's line and column of the rule's column `col`. */
  locate: (col: number) => { line: number; col: number };
}

const familyName = (f: Family) => (f === "ipv4" ? "IPv4" : "IPv6");

/** What a file's name says of the family of the rules in it: ip6-rule.json, ipv6-rules.txt, rule-6.txt → IPv6; ip-rule.json, ip4-rule.txt → IPv4. */
export function ruleFamilyOfFileName(file: string): Family | undefined {
  const base = file.split("/").pop() ?? "";
  if (/ip6|ipv6|-6\b/i.test(base)) return "ipv6";
  if (/^ip4?[-_.]?rules?\b|ipv4|-4\b/i.test(base)) return "ipv4";
  return undefined;
}

/**
 * Reads rule lines of one family into `facts.rules`. `family` is what the input's place says
 * (node.json's "rules6", a file's name), or undefined when only the addresses can tell.
 */
export function readRuleTexts(texts: readonly RuleText[], family: Family | undefined, where: string, facts: NodeFacts, sink: DiagnosticSink): void {
  // A first reading finds the family the addresses show; rules without addresses take it.
  const first = texts.map((t) => parseRuleLine(t.line, family ?? "ipv4"));
  const shown = first.find((r): r is Extract<RuleLineParse, { ok: true }> => r.ok && r.addressFamily !== undefined)?.addressFamily;
  const fileFamily = family ?? shown ?? "ipv4";
  if (!family && !shown && texts.length > 0) {
    const at = texts[0]!.locate(1);
    sink.warning({ ...at, len: 0 }, `no rule in ${where} names an address, so nothing says whether these are IPv4 or IPv6 rules: read as IPv4 (ip rule without -6)`, "`ip -6 rule` output in a file whose name says ip6 (ip6-rule.txt), or in node.json's \"rules6\"");
  }
  const rules = (facts.rules ??= []);
  if (texts.length > 0 && rules.some((r) => r.family === fileFamily)) {
    const at = texts[0]!.locate(1);
    sink.error({ ...at, len: 0 }, `${familyName(fileFamily)} policy routing rules were already given by another input`, "each family's rules once (one ip rule dump)");
    return;
  }
  const read: FactRule[] = [];
  texts.forEach((t, k) => {
    const r = fileFamily === (family ?? "ipv4") ? first[k]! : parseRuleLine(t.line, fileFamily);
    if (!r.ok) {
      sink.error({ ...t.locate(r.col), len: 0 }, r.error, r.expected);
      return;
    }
    if (r.addressFamily && r.addressFamily !== fileFamily) {
      const word = /\s(?:from|to)\s+(\S*:\S*|\d+\.\d+\.\d+\.\d+\S*)/.exec(t.line);
      const col = word ? word.index + word[0].length - word[1]!.length + 1 : 1;
      sink.error({ ...t.locate(col), len: 0 }, `an ${familyName(r.addressFamily)} rule among ${familyName(fileFamily)} rules (${where})`, family && where.includes('"rules') ? `${familyName(fileFamily)} addresses (ip -6 rule lines go in "rules6", ip rule lines in "rules")` : `${familyName(fileFamily)} addresses: ip rule prints one family per run`);
      return;
    }
    read.push(r.rule);
  });
  for (const r of read) rules.push(r);
}

/** `ip rule show` text: one rule per line (blank lines and # comments skipped). */
export function readIpRuleText(text: string, file: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const texts: RuleText[] = [];
  text.split("\n").forEach((raw, k) => {
    const l = raw.replace(/\r$/, "");
    if (!l.trim() || l.trim().startsWith("#")) return;
    texts.push({ line: l, locate: (col) => ({ line: k + 1, col }) });
  });
  readRuleTexts(texts, ruleFamilyOfFileName(file), "this ip rule output", facts, sink);
}

/** Keys of `ip -j rule` objects (iproute2 6.1 ip/iprule.c), each to the words of the text form. */
const JSON_KEYS = [
  "priority", "not", "src", "srclen", "dst", "dstlen", "tos", "fwmark", "fwmask", "iif", "iif_detached", "oif", "oif_detached",
  "l3mdev", "uid_start", "uid_end", "ipproto", "sport", "sport_start", "sport_end", "dport", "dport_start", "dport_end", "tun_id",
  "table", "suppress_prefixlen", "suppress_ifgroup", "flow_from", "flow_to", "goto", "unresolved", "action", "nop", "protocol", "masquerade",
];

/** `ip -j rule` output: a list of rule objects. */
export function readIpRuleJson(root: JsonNode, j: JsonInput, file: string, facts: NodeFacts, sink: DiagnosticSink): void {
  const texts: RuleText[] = [];
  for (const n of j.list(root, "ip -j rule output", "a list of rules") ?? []) {
    const t = ruleJsonText(n, j);
    if (t) texts.push(t);
  }
  readRuleTexts(texts, ruleFamilyOfFileName(file), "this ip -j rule output", facts, sink);
}

function ruleJsonText(n: JsonNode, j: JsonInput): RuleText | undefined {
  const f = j.fields(n, "a rule", JSON_KEYS);
  if (!f) return undefined;
  const parts: Array<{ w: string; at: number }> = [];
  let bad = false;
  /** The value of `key` as one word (a string or an integer), or undefined after saying why not. */
  const value = (key: string): { w: string; at: number } | undefined => {
    const v = f.get(key)?.value;
    if (!v) return undefined;
    const w = v.kind === "string" ? v.value : v.kind === "number" && Number.isInteger(v.value) && v.value >= 0 ? String(v.value) : undefined;
    if (w === undefined || w === "" || /\s/.test(w)) {
      bad = true;
      if (w === undefined) j.wrong(v, `rule ${key}`, "a string or a non-negative integer");
      else j.error(v.at, `bad rule ${key} ${JSON.stringify(w)}`, "one word");
      return undefined;
    }
    return { w, at: v.at };
  };
  const flag = (key: string): number | undefined => f.get(key)?.keyAt;
  const push = (w: string, at: number) => parts.push({ w, at });
  const word = (keyword: string, key: string, suffix?: string) => {
    const v = value(key);
    if (v) {
      push(keyword, f.get(key)!.keyAt);
      push(suffix && f.get(suffix) ? `${v.w}/${value(suffix)?.w ?? ""}` : v.w, v.at);
    }
    return v;
  };
  const range = (keyword: string, key: string) => {
    if (f.has(key)) return word(keyword, key);
    const a = value(`${key}_start`);
    const b = value(`${key}_end`);
    if (a || b) {
      push(keyword, f.get(`${key}_start`)?.keyAt ?? f.get(`${key}_end`)!.keyAt);
      push(`${a?.w ?? ""}-${b?.w ?? ""}`, (a ?? b)!.at);
    }
    return undefined;
  };
  const priority = f.get("priority");
  if (!priority) {
    j.error(n.at, 'a rule without "priority"', '"priority": 0-4294967295');
    return undefined;
  }
  const p = value("priority");
  if (!p) return undefined;
  push(`${p.w}:`, p.at);
  if (flag("not") !== undefined) push("not", flag("not")!);
  if (!f.has("src")) push("from", n.at), push("all", n.at);
  else word("from", "src", "srclen");
  word("to", "dst", "dstlen");
  word("tos", "tos");
  word("fwmark", "fwmark", "fwmask");
  if (!f.has("fwmark") && f.has("fwmask")) {
    push("fwmark", f.get("fwmask")!.keyAt);
    push(`0/${value("fwmask")?.w ?? ""}`, f.get("fwmask")!.value.at);
  }
  for (const dir of ["iif", "oif"]) {
    if (word(dir, dir) && flag(`${dir}_detached`) !== undefined) push("[detached]", flag(`${dir}_detached`)!);
  }
  range("uidrange", "uid");
  word("ipproto", "ipproto");
  range("sport", "sport");
  range("dport", "dport");
  word("tun_id", "tun_id");
  if (flag("l3mdev") !== undefined) push("lookup", flag("l3mdev")!), push("[l3mdev-table]", flag("l3mdev")!);
  word("lookup", "table");
  word("suppress_prefixlength", "suppress_prefixlen");
  word("suppress_ifgroup", "suppress_ifgroup");
  if (word("goto", "goto") && flag("unresolved") !== undefined) push("[unresolved]", flag("unresolved")!);
  const action = value("action");
  if (action) push(action.w, action.at);
  if (flag("nop") !== undefined) push("nop", flag("nop")!);
  if (flag("masquerade") !== undefined) push("masquerade", flag("masquerade")!);
  const from = value("flow_from");
  const to = value("flow_to");
  if (to) push("realms", f.get("flow_to")!.keyAt), push(from ? `${from.w}/${to.w}` : to.w, to.at);
  word("proto", "protocol");
  if (bad) return undefined;
  const line = parts.map((x) => x.w).join(" ");
  const starts: number[] = [];
  let c = 1;
  for (const x of parts) {
    starts.push(c);
    c += x.w.length + 1;
  }
  return {
    line,
    locate: (col) => {
      let k = starts.length - 1;
      while (k > 0 && starts[k]! > col) k--;
      // Past the end (a missing value or action): the rule object itself.
      return j.where(col > line.length ? n.at : parts[k]!.at);
    },
  };
}
