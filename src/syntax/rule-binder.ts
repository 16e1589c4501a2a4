/**
 * Turns the words of one iptables command (`-A CHAIN -p tcp --dport 80 -j ACCEPT`) into AST
 * rules, the way iptables' own getopt loop does: core options first, `-m NAME` loads a match
 * whose options may follow, `-p tcp` loads the tcp match implicitly when one of its options
 * appears, options go to the most recently loaded extension that knows them, long options may
 * be abbreviated. Unknown extensions keep every option (generic nodes).
 */
import type { Arg } from "../../grammar/read-line.js";
import type {
  AddressMatch, ChainTarget, Counters, Family, GenericMatch, GenericTarget, InterfaceMatch, MatchNode,
  ProtocolMatch, RawOption, Rule, StandardTarget, TargetNode,
} from "../model/ast.js";
import type { DiagnosticSink } from "../model/diagnostics.js";
import type { Span } from "../model/span.js";
import { findMatch, findTarget, implicitMatchOf, IPTABLES_TARGET_NAMES, MATCHES } from "../extensions/registry.js";
import type { BindContext, MatchExtension, OptionSpec, TargetExtension } from "../extensions/types.js";
import { iptablesProtocol, protocolName } from "../extensions/protocols.js";
import { parseAddress } from "../model/address.js";
import { BUILTIN_CHAINS, isTableName } from "../model/ast.js";

export type Command =
  | { kind: "append"; chain: string; rules: Rule[]; span: Span }
  | { kind: "insert"; chain: string; position: number; rules: Rule[]; span: Span }
  | { kind: "delete"; chain: string; rules: Rule[]; position?: number; span: Span }
  | { kind: "new-chain"; chain: string; span: Span }
  | { kind: "policy"; chain: string; policy: string; counters?: Counters; span: Span }
  | { kind: "flush"; chain?: string; span: Span }
  | { kind: "delete-chain"; chain?: string; span: Span }
  | { kind: "zero"; chain?: string; span: Span };

export interface BindEnv {
  family: Family;
  table: string | undefined;
  sink: DiagnosticSink;
  line: number;
  /** Whether a user chain of this name is declared in the table so far. */
  isChain(name: string): boolean;
  /**
   * Whether a jump to a chain not declared before its line is reported: true for
   * iptables-restore input, false for `iptables -S CHAIN`, which shows one chain's rules and
   * none of the chains they jump to.
   */
  jumpsMustExist?: boolean;
}

const STANDARD = new Set(["ACCEPT", "DROP", "RETURN", "QUEUE"]);

const CORE: readonly (OptionSpec & { id: string })[] = [
  { id: "s", flags: ["-s", "--source", "--src"], args: 1, negatable: true },
  { id: "d", flags: ["-d", "--destination", "--dst"], args: 1, negatable: true },
  { id: "i", flags: ["-i", "--in-interface"], args: 1, negatable: true },
  { id: "o", flags: ["-o", "--out-interface"], args: 1, negatable: true },
  { id: "p", flags: ["-p", "--protocol"], args: 1, negatable: true },
  { id: "f", flags: ["-f", "--fragment"], args: 0, negatable: true },
  { id: "m", flags: ["-m", "--match"], args: 1 },
  { id: "j", flags: ["-j", "--jump"], args: 1 },
  { id: "g", flags: ["-g", "--goto"], args: 1 },
  { id: "c", flags: ["-c", "--set-counters"], args: 2 },
  { id: "4", flags: ["-4", "--ipv4"], args: 0 },
  { id: "6", flags: ["-6", "--ipv6"], args: 0 },
];

type CoreSpec = (typeof CORE)[number];
const CORE_INDEX = new Map<string, CoreSpec>(CORE.flatMap((c) => c.flags.map((f) => [f, c] as const)));
/** The core options by the letter of their short flag: a dump's 800k flags are mostly `-x`. */
const CORE_SHORT: (CoreSpec | undefined)[] = [];
for (const c of CORE) CORE_SHORT[c.flags[0]!.charCodeAt(1)] = c;

/** The core option spelled exactly `flag`. */
function coreOption(flag: string): CoreSpec | undefined {
  // A map lookup would hash each new word first; a two-character flag is one array index.
  if (flag.length === 2) return CORE_SHORT[flag.charCodeAt(1)];
  return CORE_INDEX.get(flag);
}

const COMMANDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["A", ["-A", "--append"]],
  ["I", ["-I", "--insert"]],
  ["D", ["-D", "--delete"]],
  ["N", ["-N", "--new-chain"]],
  ["P", ["-P", "--policy"]],
  ["F", ["-F", "--flush"]],
  ["X", ["-X", "--delete-chain"]],
  ["Z", ["-Z", "--zero"]],
];

interface PendingMatch {
  ext: MatchExtension<any> | undefined;
  name: string;
  options: RawOption[];
  span: Span;
}

interface PendingTarget {
  ext: TargetExtension<any> | undefined;
  name: string;
  options: RawOption[];
  span: Span;
}

const NO_VALUES: string[] = [];
const NO_ADDRESS: readonly undefined[] = [undefined];

/**
 * `list` with `x` after it. A dump binds hundreds of thousands of lists of one to three items,
 * and `push` would give each room for seventeen: short lists are copied into a new array of
 * exactly their size. From three items on, the array is one this function made, and `push`
 * grows it in place (a generic match with a million options stays linear).
 */
function append<T>(list: T[], x: T): T[] {
  switch (list.length) {
    case 0:
      return [x];
    case 1:
      return [list[0]!, x];
    case 2:
      return [list[0]!, list[1]!, x];
    default:
      list.push(x);
      return list;
  }
}

/** The sink's error and warning as plain functions, made once per sink rather than once per rule. */
const REPORTERS = new WeakMap<DiagnosticSink, Pick<BindContext, "error" | "warning">>();

function sinkReporters(sink: DiagnosticSink): Pick<BindContext, "error" | "warning"> {
  let r = REPORTERS.get(sink);
  if (!r) {
    r = { error: (s, m, e, f) => sink.error(s, m, e, f), warning: (s, m) => sink.warning(s, m) };
    REPORTERS.set(sink, r);
  }
  return r;
}

/** The `n` words after option `flagArg`, which starts at `args[i - 1]`; undefined (reported) when the line ends first. */
function takeValues(args: Arg[], i: number, n: number, flagArg: Arg, line: number, sink: DiagnosticSink): string[] | undefined {
  if (n === 1 && args[i] !== undefined && !args[i]!.unterminated) return [args[i]!.value];
  let vals: string[] = NO_VALUES;
  for (let k = 0; k < n; k++) {
    const a = args[i + k];
    if (!a) {
      const want = n === 1 ? "a value" : `${n} values`;
      sink.error(spanAt(line, flagArg), `${flagArg.value} needs ${want}`, want, "end of line");
      return undefined;
    }
    if (a.unterminated) sink.error(spanAt(line, a), "unterminated quoted string", 'a closing "');
    vals = append(vals, a.value);
  }
  return vals;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isFlag(a: Arg): boolean {
  const v = a.value;
  if (a.quoted || v.length < 2 || v.charCodeAt(0) !== 45) return false;
  const c1 = v.charCodeAt(1);
  return isAlnum(c1) || (c1 === 45 && v.length > 2 && isAlnum(v.charCodeAt(2)));
}

/**
 * Flag → spec maps, built once per option list: binding is the hot loop of a 100k-rule dump.
 * The lists are the extensions' own, a fixed few, so a Map (a WeakMap is slower to read).
 */
const FLAG_INDEX = new Map<readonly OptionSpec[], Map<string, OptionSpec>>();

function flagIndex(specs: readonly OptionSpec[]): Map<string, OptionSpec> {
  let m = FLAG_INDEX.get(specs);
  if (!m) {
    m = new Map();
    for (const s of specs) for (const f of s.flags) m.set(f, s);
    FLAG_INDEX.set(specs, m);
  }
  return m;
}

/** Exact flag, else a unique long-option abbreviation (getopt_long's rule). */
function lookupFlag(flag: string, specs: readonly OptionSpec[]): OptionSpec | undefined | "ambiguous" {
  const exact = flagIndex(specs).get(flag);
  if (exact) return exact;
  if (!flag.startsWith("--") || flag.length < 3) return undefined;
  const hits = specs.filter((s) => s.flags.some((f) => f.startsWith("--") && f.startsWith(flag)));
  if (hits.length === 1) return hits[0];
  return hits.length > 1 ? "ambiguous" : undefined;
}

function spanAt(line: number, a: Arg | undefined, fallbackCol = 1): Span {
  return a ? { line, col: a.col, len: a.raw.length } : { line, col: fallbackCol, len: 0 };
}

export function bindCommand(args: Arg[], env: BindEnv, counters?: Counters): Command | undefined {
  const { sink, line } = env;
  const first = args[0];
  const lineSpan = spanAt(line, first);
  if (!first) return undefined;
  const cmd = COMMANDS.find(([, flags]) => flags.includes(first.value));
  if (!cmd) {
    sink.error(lineSpan, `expected a command at the start of the line`, "-A, -I, -D, -N, -P, -F, -X or -Z", first.value);
    return undefined;
  }
  const chainArg = args[1];
  const needsChain = cmd[0] === "A" || cmd[0] === "I" || cmd[0] === "D" || cmd[0] === "N" || cmd[0] === "P";
  if (needsChain && (!chainArg || isFlag(chainArg))) {
    sink.error(spanAt(line, chainArg, first.col + first.raw.length), `${first.value} needs a chain name`, "a chain name", chainArg?.value);
    return undefined;
  }
  switch (cmd[0]) {
    case "N":
      if (args.length > 2) sink.error(spanAt(line, args[2]), "unexpected text after the chain name", "end of line", args[2]!.value);
      return { kind: "new-chain", chain: chainArg!.value, span: lineSpan };
    case "P": {
      const pol = args[2];
      if (!pol) {
        sink.error(spanAt(line, undefined, chainArg!.col + chainArg!.raw.length), "-P needs a policy", "ACCEPT or DROP");
        return undefined;
      }
      const c: Command = { kind: "policy", chain: chainArg!.value, policy: pol.value, span: lineSpan };
      if (args.length > 3) {
        if ((args[3]!.value === "-c" || args[3]!.value === "--set-counters") && args.length === 6) {
          const p = args[4]!.value, b = args[5]!.value;
          if (/^[0-9]+$/.test(p) && /^[0-9]+$/.test(b)) c.counters = { packets: BigInt(p), bytes: BigInt(b), exact: true };
        } else sink.error(spanAt(line, args[3]), "unexpected text after the policy", "end of line", args[3]!.value);
      }
      return c;
    }
    case "F":
    case "X":
    case "Z": {
      const kind = cmd[0] === "F" ? "flush" : cmd[0] === "X" ? "delete-chain" : "zero";
      const c = { kind, span: lineSpan } as Command & { chain?: string };
      if (chainArg) c.chain = chainArg.value;
      return c;
    }
  }
  let rest = args.slice(2);
  let position: number | undefined;
  if ((cmd[0] === "I" || cmd[0] === "D") && rest[0] && /^[0-9]+$/.test(rest[0].value)) {
    position = Number(rest[0].value);
    rest = rest.slice(1);
  }
  const rules = bindRule(rest, env, chainArg!.value, lineSpan, counters);
  if (!rules) return undefined;
  if (cmd[0] === "A") return { kind: "append", chain: chainArg!.value, rules, span: lineSpan };
  if (cmd[0] === "I") {
    if (position === 0) sink.error(lineSpan, "-I rule numbers start at 1");
    return { kind: "insert", chain: chainArg!.value, position: position ?? 1, rules, span: lineSpan };
  }
  const d: Command = { kind: "delete", chain: chainArg!.value, rules, span: lineSpan };
  if (position !== undefined) d.position = position;
  return d;
}

/**
 * What the words of one rule have said so far. The binder is split into small functions that
 * share this one object: V8 compiled the single large function it was in four times per dump
 * (80 ms each, measured with --trace-opt), running it unoptimized meanwhile.
 */
class RuleDraft {
  // Undefined until an address is read: an empty array literal has another hidden class than a
  // list of objects, and reading both made the optimized binder bail out (measured).
  sources: AddressMatch[] | undefined = undefined;
  destinations: AddressMatch[] | undefined = undefined;
  srcNeg = false;
  dstNeg = false;
  inIf: InterfaceMatch | undefined = undefined;
  outIf: InterfaceMatch | undefined = undefined;
  proto: ProtocolMatch | undefined = undefined;
  frag: { negated: boolean } | undefined = undefined;
  matches: PendingMatch[] = [];
  target: PendingTarget | undefined = undefined;
  /** A jump to a chain not declared before the line: reported once the rule is bound (see bindTarget). */
  undeclaredJump: { span: Span; chain: string } | undefined = undefined;
  targetSimple: TargetNode | undefined = undefined;
  goto = false;
  skipFamily = false;
  /** Which extension last received an option, for attaching stray options to a generic one. */
  lastLoaded: PendingMatch | PendingTarget | undefined = undefined;

  constructor(public counters: Counters | undefined) {}
}

/** Binds the words after `-A CHAIN` into one rule, or several when `-s`/`-d` list addresses. */
export function bindRule(args: Arg[], env: BindEnv, chain: string, lineSpan: Span, counters?: Counters): Rule[] | undefined {
  const { sink, line } = env;
  // Whether this rule failed is whether the sink gained errors: no per-rule closure counts them.
  const errorsBefore = sink.errorCount;
  const r = new RuleDraft(counters);
  let pendingNeg: Arg | undefined;
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a.value === "!" && !a.quoted) {
      if (pendingNeg) sink.error(spanAt(line, a), "multiple ! flags not allowed");
      pendingNeg = a;
      i++;
      continue;
    }
    if (!isFlag(a)) {
      if (a.value.startsWith("#")) {
        sink.warning(spanAt(line, a), "text after '#' is not part of iptables syntax; ignored to the end of the line");
        break;
      }
      sink.error(spanAt(line, a), "unexpected argument", "an option such as -p, -m or -j", a.value);
      i++;
      continue;
    }
    const next = bindOption(r, args, i + 1, a, pendingNeg, env);
    pendingNeg = undefined;
    if (next < 0) break;
    i = next;
  }
  if (pendingNeg) sink.error(spanAt(line, pendingNeg), "! at the end of the rule", "an option after !");
  // iptables refuses interfaces a built-in chain never has (measured: "Can't use -o with INPUT").
  if (r.outIf && (chain === "INPUT" || chain === "PREROUTING")) sink.error(lineSpan, `can't use -o with ${chain}: packets there have no output interface yet`);
  if (r.inIf && (chain === "OUTPUT" || chain === "POSTROUTING")) sink.error(lineSpan, `can't use -i with ${chain}: locally generated packets have no input interface`);
  if (r.skipFamily) return [];
  return finishRule(r, env, lineSpan, errorsBefore);
}

/**
 * Binds option `a` (whose values start at `args[i]`), negated when `neg` (the `!` before it)
 * is set. Returns where the next option starts, or -1 when the line ended too early.
 */
function bindOption(r: RuleDraft, args: Arg[], i: number, a: Arg, neg: Arg | undefined, env: BindEnv): number {
  const { sink, line, family } = env;
  // Exact spellings first (core, then loaded extensions), abbreviations only after that.
  let core: CoreSpec | undefined | "ambiguous" = coreOption(a.value);
  // An extension netfate does not know may own any spelling (`-m recent --set`), so after
  // one, core options are matched exactly, never by abbreviation.
  const genericLoaded = r.lastLoaded !== undefined && !r.lastLoaded.ext;
  let owner: ReturnType<typeof findOwner> | undefined;
  if (!core) {
    owner = findOwner(a.value, r.matches, r.target, r.proto, family);
    if (!owner && !genericLoaded && a.value.charCodeAt(1) === 45) core = lookupFlag(a.value, CORE) as CoreSpec | undefined | "ambiguous";
  }
  if (core && core !== "ambiguous") return bindCoreOption(r, core, args, i, a, neg, env);
  const negated = neg !== undefined;
  // Extension options: most recently loaded first, the target last loaded counts too.
  if (owner === "ambiguous") {
    sink.error(spanAt(line, a), `option ${a.value} is ambiguous`);
    return skipValues(args, i);
  }
  if (owner) return bindExtensionOption(r, owner, args, i, a, neg, env);
  // A generic extension takes any option, with the words up to the next option as values.
  const generic = r.lastLoaded && !r.lastLoaded.ext ? r.lastLoaded : undefined;
  if (generic) return takeGenericOption(generic, args, i, a, negated, line);
  // `-p NAME` loads the match of that name implicitly in iptables; when netfate does not know
  // it (icmp before its file exists, dccp...), keep it generically under that name.
  const p0 = r.proto;
  if (p0 && !p0.negated && p0.number !== 0 && !findMatch(implicitMatchName(p0, family), family) && !r.matches.some((m) => m.name === implicitMatchName(p0, family))) {
    const pm: PendingMatch = { ext: undefined, name: implicitMatchName(p0, family), options: [], span: spanAt(line, a) };
    r.matches = append(r.matches, pm);
    r.lastLoaded = pm;
    return takeGenericOption(pm, args, i, a, negated, line);
  }
  sink.error(spanAt(line, a), `unknown option ${a.value}`, expectedOptions(r.matches, r.target, r.proto), a.value);
  return skipValues(args, i);
}

/** Gives option `a` and the words after it, up to the next option, to an extension netfate does not know. */
function takeGenericOption(holder: PendingMatch | PendingTarget, args: Arg[], i: number, a: Arg, negated: boolean, line: number): number {
  const vals: string[] = [];
  while (i < args.length && !isFlag(args[i]!) && !(args[i]!.value === "!" && !args[i]!.quoted)) vals.push(args[i++]!.value);
  holder.options = append(holder.options, { flag: a.value, negated, values: vals, span: spanAt(line, a) });
  return i;
}

/**
 * The values of option `a` (`n` words from `args[i]`), reading the old syntax `-s ! 1.2.3.4`
 * as `! -s 1.2.3.4`. Undefined (reported) when the line ends first.
 */
function optionValues(args: Arg[], i: number, n: number, a: Arg, negatable: boolean, negated: boolean, env: BindEnv): { vals: string[]; next: number; neg: boolean } | undefined {
  const { sink, line } = env;
  const vals = takeValues(args, i, n, a, line, sink);
  if (!vals) return undefined;
  if (negatable && n === 1 && vals[0] === "!") {
    sink.warning(spanAt(line, a), `old negation syntax "${a.value} !"; read as "! ${a.value}"`);
    const more = takeValues(args, i + 1, 1, a, line, sink);
    if (!more) return undefined;
    return { vals: more, next: i + 2, neg: true };
  }
  return { vals, next: i + n, neg: negated };
}

function bindCoreOption(r: RuleDraft, core: CoreSpec, args: Arg[], i: number, a: Arg, negArg: Arg | undefined, env: BindEnv): number {
  const { sink, line, family } = env;
  if (negArg && !core.negatable) sink.error(spanAt(line, negArg), `${a.value} cannot be negated`);
  const got = optionValues(args, i, core.args, a, core.negatable === true, negArg !== undefined, env);
  if (!got) return -1;
  const { vals, next, neg } = got;
  const v = vals[0] ?? "";
  const valueArg = args[next - 1];
  switch (core.id) {
    case "s":
    case "d":
      bindAddresses(r, core.id, v, neg, a, valueArg, env);
      break;
    case "i":
    case "o": {
      if (v.length >= 16) sink.error(spanAt(line, valueArg), `interface name \`${v}' must be shorter than IFNAMSIZ (15)`);
      else if (v === "") sink.error(spanAt(line, valueArg), "empty interface name", "an interface name");
      const m: InterfaceMatch = { negated: neg, name: v };
      if (core.id === "i") r.inIf = m;
      else r.outIf = m;
      break;
    }
    case "p": {
      const n = iptablesProtocol(v);
      if (n === undefined) sink.error(spanAt(line, valueArg), "unknown protocol", "a protocol name or number 0-255", v);
      else if (n !== 0 || neg) r.proto = { negated: neg, number: n, name: family === "ipv6" && n === 58 ? "ipv6-icmp" : protocolName(n) };
      break;
    }
    case "f":
      if (family === "ipv6") sink.error(spanAt(line, a), "-f is not available in ip6tables");
      r.frag = { negated: neg };
      break;
    case "m": {
      const ext = findMatch(v, family);
      const pm: PendingMatch = { ext, name: v, options: [], span: spanAt(line, a) };
      if (!ext && !/^[A-Za-z0-9_.-]+$/.test(v)) sink.error(spanAt(line, valueArg), "bad match name", "an extension name", v);
      r.matches = append(r.matches, pm);
      r.lastLoaded = pm;
      break;
    }
    case "j":
    case "g":
      bindTarget(r, core.id === "g", v, args, next, a, env);
      break;
    case "c": {
      const [p, b] = vals as [string, string];
      if (!/^[0-9]+$/.test(p) || !/^[0-9]+$/.test(b)) sink.error(spanAt(line, a), "bad counters for -c", "two numbers", `${p} ${b}`);
      else r.counters = { packets: BigInt(p), bytes: BigInt(b), exact: true };
      break;
    }
    case "4":
    case "6":
      if ((core.id === "4") !== (family === "ipv4")) r.skipFamily = true;
      break;
  }
  return next;
}

/** `-s`/`-d` (`which`) with value `v`: one address or a comma-separated list. */
function bindAddresses(r: RuleDraft, which: string, v: string, neg: boolean, a: Arg, valueArg: Arg | undefined, env: BindEnv): void {
  const { sink, line, family } = env;
  let list = which === "s" ? r.sources : r.destinations;
  if (list !== undefined) sink.error(spanAt(line, a), `multiple ${a.value} flags not allowed`);
  const parts = v.includes(",") ? v.split(",") : undefined;
  for (let k = 0; k < (parts ? parts.length : 1); k++) {
    const part = parts ? parts[k]! : v;
    const p = parseAddress(part, family);
    if (!p.ok) sink.error(spanAt(line, valueArg), `bad address for ${a.value}`, p.expected, part);
    else {
      const m: AddressMatch = { negated: neg, address: p.value.address, prefixLength: p.value.prefixLength, mask: p.value.mask };
      list = list === undefined ? [m] : append(list, m);
    }
  }
  if (which === "s") {
    r.sources = list;
    r.srcNeg = neg;
  } else {
    r.destinations = list;
    r.dstNeg = neg;
  }
  if (neg && parts) sink.error(spanAt(line, a), `! ${a.value} cannot take a list of addresses`);
}

/** `-j`/`-g` (`goto`) `v`, whose options (if a target extension) start at `args[next]`. */
function bindTarget(r: RuleDraft, goto: boolean, v: string, args: Arg[], next: number, a: Arg, env: BindEnv): void {
  const { sink, line, family } = env;
  const span = spanAt(line, a);
  if (r.target || r.targetSimple) sink.error(span, "multiple -j/-g flags not allowed");
  r.goto = goto;
  const known = goto ? undefined : findTarget(v, family);
  if (!goto && STANDARD.has(v)) {
    if (v === "DROP" && env.table === "nat") {
      // iptables itself refuses it, both backends (1.8.9): "The nat table is not intended for
      // filtering, the use of DROP is therefore inhibited."
      sink.error(span, "-j DROP is refused in the nat table (it is not intended for filtering)", "a target other than DROP", v);
    }
    r.targetSimple = { kind: "standard", verdict: v as StandardTarget["verdict"], span };
  } else if (known) {
    r.target = { ext: known, name: v, options: [], span };
    r.lastLoaded = r.target;
  } else if (goto || (!IPTABLES_TARGET_NAMES.has(v) && !looksLikeTargetWithOptions(args, next)) || env.isChain(v)) {
    if (goto && STANDARD.has(v)) sink.error(spanAt(line, args[next - 1]), "-g needs a user-defined chain", "a chain name", v);
    else if (env.table && isTableName(env.table) && BUILTIN_CHAINS[env.table].includes(v)) {
      // Both backends refuse it at COMMIT (legacy "line N failed", nft "RULE_APPEND failed
      // (Operation not supported)"; test/kernel/restore-refusals.test.ts).
      sink.error(spanAt(line, args[next - 1]), `${goto ? "-g" : "-j"} ${v}: a rule cannot ${goto ? "go" : "jump"} to built-in chain ${v} of table ${env.table}; iptables-restore refuses it`, "a user-defined chain", v);
    } else if (env.jumpsMustExist && !env.isChain(v)) {
      // Measured (test/kernel/restore-refusals.test.ts): legacy refuses at the line
      // ("Couldn't load target `X'", "goto 'X' is not a chain"), nft at COMMIT ("Chain 'X'
      // does not exist"), also when X is declared after the line. An error in a restore
      // input (a `*table` section); only `iptables-restore --noflush` onto a kernel that has
      // the chain would take it, and nothing here says that is how the dump was meant.
      // Reported after the rule is bound, and the rule kept: a packet that reaches it ends in
      // the evaluator's "jump to a chain that does not exist" rather than passing a rule the
      // dump has.
      r.undeclaredJump = { span: spanAt(line, args[next - 1]), chain: v };
    }
    r.targetSimple = { kind: "chain", chain: v, span } satisfies ChainTarget;
  } else {
    r.target = { ext: undefined, name: v, options: [], span };
    r.lastLoaded = r.target;
  }
}

function bindExtensionOption(r: RuleDraft, owner: Exclude<Owner, "ambiguous">, args: Arg[], i: number, a: Arg, negArg: Arg | undefined, env: BindEnv): number {
  const { sink, line } = env;
  const { holder, spec } = owner;
  const span = spanAt(line, a);
  if (owner.implicit) {
    // iptables-save writes the implicit `-m tcp` where its first option appeared.
    holder.span = span;
    r.matches = append(r.matches, holder as PendingMatch);
  }
  if (negArg && !spec.negatable) sink.error(spanAt(line, negArg), `${a.value} cannot be negated`);
  const got = optionValues(args, i, spec.args, a, spec.negatable === true, negArg !== undefined, env);
  if (!got) return -1;
  holder.options = append(holder.options, { flag: spec.flags[0]!, negated: got.neg, values: got.vals, span });
  return got.next;
}

/** The rule's match and target nodes from what was read, then one rule per source and destination. */
function finishRule(r: RuleDraft, env: BindEnv, lineSpan: Span, errorsBefore: number): Rule[] | undefined {
  const { sink, family } = env;
  const reporters = sinkReporters(sink);
  const proto = r.proto;
  const ctx: BindContext = { family, protocol: proto, table: env.table, error: reporters.error, warning: reporters.warning };
  // map, not push: the array is kept in the AST, and push leaves room for 17 (100k rules).
  const matchNodes = r.matches.map((pm): MatchNode => {
    if (pm.ext) {
      const data = pm.ext.parse(pm.options, ctx, pm.span);
      if (data !== undefined) return { kind: "match", name: pm.ext.name, data, span: pm.span };
    }
    return { kind: "generic-match", name: pm.name, options: pm.options, span: pm.span } satisfies GenericMatch;
  });
  let targetNode: TargetNode | null = r.targetSimple ?? null;
  const target = r.target;
  if (target) {
    let data: unknown;
    if (target.ext) {
      if (target.ext.tables && env.table && !target.ext.tables.includes(env.table)) {
        ctx.error(target.span, `${target.name} is only valid in the ${target.ext.tables.join("/")} table`);
      }
      data = target.ext.parse(target.options, ctx, target.span);
    }
    targetNode = data !== undefined && target.ext
      ? { kind: "target", name: target.ext.name, data, span: target.span }
      : ({ kind: "generic-target", name: target.name, options: target.options, span: target.span } satisfies GenericTarget);
  }
  if (sink.errorCount > errorsBefore) return undefined;
  if (r.undeclaredJump) {
    const j = r.undeclaredJump;
    sink.error(
      j.span,
      `chain ${j.chain} is not declared before this line in table ${env.table}: iptables-restore refuses it (only --noflush onto a kernel that has the chain would take it)`,
      `a chain declared (:${j.chain} - or -N ${j.chain}) before this line`,
      j.chain,
    );
  }

  const srcs: readonly (AddressMatch | undefined)[] = r.sources ?? NO_ADDRESS;
  const dsts: readonly (AddressMatch | undefined)[] = r.destinations ?? NO_ADDRESS;
  let out: Rule[] = [];
  for (const s of srcs) {
    for (const d of dsts) {
      const rule: Rule = { span: lineSpan, matches: matchNodes, target: targetNode, goto: r.goto };
      if (r.counters) rule.counters = r.counters;
      // iptables drops 0.0.0.0/0 unless negated.
      if (s && (s.prefixLength !== 0 || r.srcNeg)) rule.source = s;
      if (d && (d.prefixLength !== 0 || r.dstNeg)) rule.destination = d;
      if (r.inIf) rule.inInterface = r.inIf;
      if (r.outIf) rule.outInterface = r.outIf;
      if (proto) rule.protocol = proto;
      if (r.frag) rule.fragment = r.frag;
      out = append(out, rule);
    }
  }
  return out;
}

/** `-j FOO --opt` with FOO unknown is a target extension we do not know, not a chain. */
function looksLikeTargetWithOptions(args: Arg[], i: number): boolean {
  const next = args[i];
  return next !== undefined && isFlag(next) && !CORE.some((c) => c.flags.includes(next.value));
}

/** Where the next option starts after option values that are not read. */
function skipValues(args: Arg[], i: number): number {
  while (i < args.length && !isFlag(args[i]!) && args[i]!.value !== "!") i++;
  return i;
}

type Owner =
  | { holder: PendingMatch | PendingTarget; spec: OptionSpec; implicit?: false }
  | { holder: PendingMatch; spec: OptionSpec; implicit: true };

function findOwner(
  flag: string,
  matches: PendingMatch[],
  target: PendingTarget | undefined,
  proto: ProtocolMatch | undefined,
  family: Family,
): Owner | "ambiguous" | undefined {
  // Most recently loaded first; the target counts as loaded last when -j came before the option.
  const n = matches.length + (target ? 1 : 0);
  const at = (k: number): PendingMatch | PendingTarget => (k === matches.length ? target! : matches[k]!);
  for (let k = n - 1; k >= 0; k--) {
    const h = at(k);
    if (!h.ext) continue;
    const spec = flagIndex(h.ext.options).get(flag);
    if (spec) return { holder: h, spec };
  }
  for (let k = n - 1; k >= 0; k--) {
    const h = at(k);
    if (!h.ext) continue;
    const spec = lookupFlag(flag, h.ext.options);
    if (spec === "ambiguous") return "ambiguous";
    if (spec) return { holder: h, spec };
  }
  if (proto && !proto.negated) {
    const implicit = MATCHES.find(
      (m) => m.implicitForProtocol && (m.name === proto.name || m.aliases?.includes(proto.name) || implicitName(m.name, proto.number, family)),
    );
    if (implicit && !matches.some((m) => m.ext === implicit)) {
      const spec = lookupFlag(flag, implicit.options);
      if (spec && spec !== "ambiguous") {
        return { holder: { ext: implicit, name: implicit.name, options: [], span: { line: 0, col: 0, len: 0 } }, spec, implicit: true };
      }
    }
  }
  return undefined;
}

/** The match iptables loads for `-p NAME`: the one named so, unless an extension claims the protocol's number (ip6tables' `icmp6`). */
function implicitMatchName(proto: ProtocolMatch, family: Family): string {
  return implicitMatchOf(proto.number, family)?.name ?? proto.name;
}

function implicitName(name: string, proto: number, family: Family): boolean {
  return implicitMatchOf(proto, family)?.name === name;
}

function expectedOptions(matches: PendingMatch[], target: PendingTarget | undefined, proto: ProtocolMatch | undefined): string {
  const names = [...matches.map((m) => m.name), ...(target ? [target.name] : [])];
  if (names.length === 0) return proto ? `an option of -p ${proto.name} or a -m match first` : "-m MATCH before its options";
  return `an option of ${names.join(", ")}`;
}
