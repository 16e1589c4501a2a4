/**
 * One `ip rule show` line (`100:\tfrom all fwmark 0x1/0x1 lookup 100`) into a FactRule.
 *
 * The words are those iproute2 6.1 prints (ip/iprule.c), checked by adding every selector and
 * action in a network namespace (test/fixtures/node/README.md has the commands). Values are
 * held to what the kernel accepts when the rule is added (Linux 6.x, each refusal checked
 * there): port ranges 1-65534 with start <= end, IPv4 tos only within 0x1e, IPv6 tos without
 * the ECN bits, a goto only forward. Words that do not change which route is chosen are
 * accepted and dropped: `proto`, `realms` (sets the realm of the result; not a selector, see
 * __fib_lookup in net/ipv4/fib_rules.c), `[unresolved]` (a goto with no rule at its target
 * priority; the evaluator sees that from the rules themselves).
 */
import type { Family } from "../model/ast.js";
import { protocolNumber } from "../extensions/protocols.js";
import type { FactPrefix, FactRule, RuleAction } from "./model.js";
import { interfaceNameProblem } from "./interface-name.js";
import { netOf, tableName } from "./route-line.js";

export type RuleLineParse = { ok: true; rule: FactRule; addressFamily?: Family } | { ok: false; error: string; col: number; expected?: string };

/** /etc/iproute2/rt_dsfield as iproute2 ships it: `tos` prints these names (IPv6 only: IPv4 rule tos stays within 0x1e, where only 0 is named). */
const DSFIELD_NAMES = new Map<string, number>([
  ["default", 0x00], ["AF11", 0x28], ["AF12", 0x30], ["AF13", 0x38], ["AF21", 0x48], ["AF22", 0x50], ["AF23", 0x58],
  ["AF31", 0x68], ["AF32", 0x70], ["AF33", 0x78], ["AF41", 0x88], ["AF42", 0x90], ["AF43", 0x98], ["CS1", 0x20],
  ["CS2", 0x40], ["CS3", 0x60], ["CS4", 0x80], ["CS5", 0xa0], ["CS6", 0xc0], ["CS7", 0xe0], ["EF", 0xb8],
]);

const ACTIONS = new Set<string>(["blackhole", "unreachable", "prohibit", "nop"]);
/** The words followed by a value. */
const VALUED = new Set<string>([
  "from", "to", "tos", "dsfield", "fwmark", "iif", "oif", "ipproto", "sport", "dport", "uidrange", "tun_id",
  "lookup", "table", "goto", "suppress_prefixlength", "suppress_ifgroup", "realms", "proto", "protocol",
]);
const U32_MAX = 0xffffffff;

/** An unsigned number as iproute2 prints or takes it: decimal, or hex with 0x (get_u32 with base 0 also takes octal, which ip never prints). */
export function parseUnsigned(text: string, max: number): number | undefined {
  const n = /^0x[0-9a-f]{1,8}$/i.test(text) ? parseInt(text.slice(2), 16) : /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  return n <= max ? n : undefined;
}

/** `A` or `A-B`, the kernel's port range: 1 <= A <= B <= 65534 (fib_rule_port_range_valid). */
function portRange(text: string): readonly [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  return a >= 1 && a <= b && b <= 65534 ? [a, b] : undefined;
}

/** `all` (no selector: undefined) or ADDR[/LEN], masked to its network: the kernel compares under the mask. */
function prefix(text: string): { prefix?: FactPrefix; family?: Family } | undefined {
  if (text === "all") return {};
  if (text === "default") return {};
  const n = netOf(text);
  if (!n) return undefined;
  // `to 0.0.0.0/0` is no selector: ip prints none for it.
  if (n.prefixLength === 0) return { family: n.family };
  return { prefix: { address: n.address, prefixLength: n.prefixLength }, family: n.family };
}

/**
 * `family` is the family of the file the line is in (what its addresses or its name say): a
 * rule without addresses is of that family. The line's own address family, if it names one,
 * comes back as `addressFamily` for the file reader to check (ip prints one family per run).
 */
export function parseRuleLine(line: string, family: Family): RuleLineParse {
  const words: string[] = [];
  const cols: number[] = [];
  for (const m of line.matchAll(/\S+/g)) {
    words.push(m[0]);
    cols.push(m.index! + 1);
  }
  const fail = (i: number, error: string, expected?: string): RuleLineParse => ({ ok: false, error, col: cols[i] ?? line.length + 1, ...(expected ? { expected } : {}) });
  const head = /^(\d{1,10}):$/.exec(words[0] ?? "");
  if (!head || Number(head[1]) > U32_MAX) return fail(0, words[0] === undefined ? "an empty rule" : `expected the rule's priority, found ${JSON.stringify(words[0])}`, "PRIORITY: as ip rule prints it (0-4294967295 and a colon)");
  const rule: FactRule = { family, priority: Number(head[1]), action: "lookup" };
  let action: RuleAction | undefined;
  let seenFamily: Family | undefined;
  const seen = new Set<string>();
  const undecidable: string[] = [];
  let i = 1;
  while (i < words.length) {
    const w = words[i]!;
    const v = words[i + 1];
    const at = i;
    // Each selector once: ip prints each once, and two would leave which one holds unsaid.
    const key = w === "table" ? "lookup" : w === "protocol" ? "proto" : w === "dsfield" ? "tos" : ACTIONS.has(w) || w === "goto" ? "lookup" : w;
    if (seen.has(key)) return fail(at, `${w} given twice in one rule`, "each selector and one action once");
    seen.add(key);
    if (VALUED.has(w) && v === undefined) return { ok: false, error: `${w} needs a value`, col: line.length + 1 };
    switch (w) {
      case "not":
        if (at !== 1) return fail(at, "not after a selector", "not right after the priority, as ip prints it");
        rule.not = true;
        i++;
        continue;
      case "from":
      case "to": {
        const p = prefix(v!);
        if (!p) return fail(at + 1, `bad ${w} ${JSON.stringify(v)}`, "all or ADDR[/LEN]");
        if (p.family) {
          if (seenFamily && p.family !== seenFamily) return fail(at + 1, `${w} ${v} is of another family than the rule's other address`, "addresses of one family");
          seenFamily = p.family;
        }
        if (p.prefix) rule[w] = p.prefix;
        break;
      }
      case "tos":
      case "dsfield": {
        const n = parseUnsigned(v!, 255) ?? DSFIELD_NAMES.get(v!);
        if (n === undefined) return fail(at + 1, `bad tos ${JSON.stringify(v)}`, "a hex value such as 0x10 or a name of rt_dsfield (AF11, EF, ...)");
        if (n !== 0) rule.tos = n;
        break;
      }
      case "fwmark": {
        const [mark, mask, more] = v!.split("/");
        const m = parseUnsigned(mark!, U32_MAX);
        // Without a mask the kernel compares all bits (fib_nl2rule sets 0xffffffff for a non-zero mark).
        const k = mask === undefined ? U32_MAX : parseUnsigned(mask, U32_MAX);
        if (m === undefined || k === undefined || more !== undefined) return fail(at + 1, `bad fwmark ${JSON.stringify(v)}`, "MARK or MARK/MASK, each a number such as 0x1 (0-0xffffffff)");
        rule.fwmark = m;
        rule.fwmask = k;
        break;
      }
      case "iif":
      case "oif": {
        const bad = interfaceNameProblem(v!);
        if (bad) return fail(at + 1, bad, "an interface name");
        rule[w] = v!;
        if (words[i + 2] === "[detached]") {
          // The device did not exist when the rules were dumped: the rule matches no packet.
          rule[w === "iif" ? "iifDetached" : "oifDetached"] = true;
          i++;
        }
        break;
      }
      case "ipproto": {
        // ip prints /etc/protocols names, or ipproto-N for a number it has no name for.
        const named = /^ipproto-(\d{1,3})$/.exec(v!);
        const n = named ? Number(named[1]) : protocolNumber(v!);
        if (n === undefined || n > 255) return fail(at + 1, `bad ipproto ${JSON.stringify(v)}`, "a protocol name (tcp, udp, icmp, ...), ipproto-N or a number 0-255");
        if (n !== 0) rule.ipproto = n;
        break;
      }
      case "sport":
      case "dport": {
        const r = portRange(v!);
        if (!r) return fail(at + 1, `bad ${w} ${JSON.stringify(v)}`, "PORT or FIRST-LAST within 1-65534, first <= last (what the kernel accepts)");
        rule[w] = r;
        break;
      }
      case "uidrange": {
        const m = /^(\d{1,10})-(\d{1,10})$/.exec(v!);
        if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > U32_MAX) return fail(at + 1, `bad uidrange ${JSON.stringify(v)}`, "FIRST-LAST, first <= last");
        // The socket's owner: not in a packet.
        undecidable.push(`uidrange ${v}`);
        break;
      }
      case "tun_id": {
        if (!/^\d{1,20}$/.test(v!) || BigInt(v!) > 0xffffffffffffffffn) return fail(at + 1, `bad tun_id ${JSON.stringify(v)}`, "a number");
        // The tunnel key of the packet's metadata (a collect_md tunnel): not in a packet netfate is given.
        undecidable.push(`tun_id ${v}`);
        break;
      }
      case "lookup":
      case "table": {
        action = "lookup";
        if (v === "[l3mdev-table]") {
          // The VRF table of the packet's l3mdev device: netfate does not model VRFs.
          undecidable.push("l3mdev");
        } else {
          if (!/^[^\s[\]]+$/.test(v!)) return fail(at + 1, `bad table ${JSON.stringify(v)}`, "a table number or name");
          rule.table = tableName(v!);
        }
        break;
      }
      case "goto": {
        const n = /^\d{1,10}$/.test(v!) ? Number(v) : NaN;
        if (!(n <= U32_MAX)) return fail(at + 1, `bad goto ${JSON.stringify(v)}`, "a priority 0-4294967295");
        // The kernel refuses a goto to its own priority or before it ("Backward goto not supported").
        if (n <= rule.priority) return fail(at + 1, `goto ${n} from priority ${rule.priority} goes backward`, `a priority above ${rule.priority} (the kernel supports only forward gotos)`);
        action = "goto";
        rule.goto = n;
        if (words[i + 2] === "[unresolved]") i++;
        break;
      }
      case "suppress_prefixlength": {
        const n = /^\d{1,10}$/.test(v!) ? Number(v) : NaN;
        if (!(n <= 0x7fffffff)) return fail(at + 1, `bad suppress_prefixlength ${JSON.stringify(v)}`, "a number 0-2147483647");
        rule.suppressPrefixLength = n;
        break;
      }
      case "suppress_ifgroup": {
        // ip prints /etc/iproute2/group names; only `default` (0) is standard.
        const n = v === "default" ? 0 : parseUnsigned(v!, 0x7fffffff);
        if (n !== undefined) rule.suppressIfgroup = n;
        else if (/^[\w.-]+$/.test(v!)) undecidable.push(`suppress_ifgroup ${v}`);
        else return fail(at + 1, `bad suppress_ifgroup ${JSON.stringify(v)}`, "a device group number or name");
        break;
      }
      case "realms": {
        if (!/^(?:[\w-]+\/)?[\w-]+$/.test(v!)) return fail(at + 1, `bad realms ${JSON.stringify(v)}`, "[FROM/]TO");
        break;
      }
      case "proto":
      case "protocol": {
        break;
      }
      case "masquerade":
      case "map-to":
      case "nat":
        return fail(at, `route NAT (${w}) rules are not modelled: the kernel no longer translates there, and a lookup reaching one fails`, "lookup, goto, nop, blackhole, unreachable or prohibit");
      default:
        if (ACTIONS.has(w)) {
          action = w as RuleAction;
          i++;
          continue;
        }
        return fail(at, `unknown word ${JSON.stringify(w)} in an ip rule`, "from, to, tos, fwmark, iif, oif, uidrange, ipproto, sport, dport, tun_id, lookup, goto, nop, blackhole, unreachable, prohibit, suppress_prefixlength, suppress_ifgroup, realms, proto");
    }
    i += 2;
  }
  if (!action) return { ok: false, error: "a rule without an action", col: line.length + 1, expected: "lookup TABLE, goto PRIORITY, nop, blackhole, unreachable or prohibit" };
  if (rule.tos !== undefined) {
    const tosFamily = seenFamily ?? family;
    // IPv4 rules take only the old TOS bits (IPTOS_TOS_MASK, 0x1e); IPv6 ones any DSCP, never ECN.
    if (tosFamily === "ipv4" ? (rule.tos & ~0x1e) !== 0 : (rule.tos & 3) !== 0) {
      const k = words.findIndex((x) => x === "tos" || x === "dsfield");
      return fail(k + 1, `tos 0x${rule.tos.toString(16)} is not one the kernel takes in an ${tosFamily === "ipv4" ? "IPv4" : "IPv6"} rule`, tosFamily === "ipv4" ? "only the bits 0x1e (0x02-0x1e)" : "the ECN bits (0x03) clear");
    }
  }
  rule.action = action;
  if (undecidable.length) rule.undecidable = undecidable;
  if (seenFamily) rule.family = seenFamily;
  return { ok: true, rule, ...(seenFamily ? { addressFamily: seenFamily } : {}) };
}
