/**
 * The contract every netfilter extension (match or target) fulfils. One file per extension
 * holds its options, how it binds them, both printings (iptables-save and `-L`) and how its
 * `-L` text reads back; `registry.ts` lists them all.
 */
import type { Family, ProtocolMatch, RawOption } from "../model/ast.js";
import type { Span } from "../model/span.js";
import type { ListingScanner } from "./listing-scanner.js";
import type { EvalEnv, MatchResult, TargetEffects, TargetResult } from "../model/evaluation.js";

export interface OptionSpec {
  /** Every spelling this option answers to, with dashes: `["--dport", "--destination-port"]`. */
  flags: readonly string[];
  /** How many values follow the flag. */
  args: number;
  /** Whether `!` may precede it. */
  negatable?: boolean;
}

/** What an extension may ask while binding its options. */
export interface BindContext {
  family: Family;
  /** The rule's `-p`, when there is one (REDIRECT and DNAT ports need it). */
  protocol: ProtocolMatch | undefined;
  /** The table the rule is in, when known. */
  table: string | undefined;
  error(span: Span, message: string, expected?: string, found?: string): void;
  warning(span: Span, message: string): void;
}

export interface PrintContext {
  family: Family;
  protocol: ProtocolMatch | undefined;
  /** `-n`: numbers instead of names in `-L` output. */
  numeric: boolean;
}

interface ExtensionBase<D> {
  /** The name after `-m` / `-j`, spelled as iptables spells it. */
  readonly name: string;
  /** Other names that load the same extension (`-m state` is not one: it is its own). */
  readonly aliases?: readonly string[];
  /** Families the extension exists for; both when absent. */
  readonly families?: readonly Family[];
  readonly options: readonly OptionSpec[];
  /**
   * Binds the options given for this extension (in input order) to typed data, with defaults
   * made explicit the way iptables does. Returns undefined after reporting an error.
   */
  parse(options: RawOption[], ctx: BindContext, span: Span): D | undefined;
  /** What iptables-save prints after `-m NAME` / `-j NAME`; starts with a space unless empty. */
  save(data: D, ctx: PrintContext): string;
  /** What `iptables -L` prints in the last column; starts with a space unless empty. */
  print(data: D, ctx: PrintContext): string;
  /**
   * Reads this extension's `-L` text back at the scanner's position. Returns undefined,
   * leaving the scanner where it was, when the text is not this extension's.
   */
  parsePrint?(scanner: ListingScanner, ctx: PrintContext): D | undefined;
  /**
   * Whether a rule using this extension makes the kernel enable conntrack in the network
   * namespace (the nat chains are consulted only then; test/kernel/pinned.test.ts), or, for
   * one whose options decide it, a test of the rule's data (`CT --notrack` takes none).
   */
  readonly needsConntrack?: boolean | ((data: D) => boolean);
  /**
   * For a match that reads state the input cannot show: the key users assume it by
   * (`--assume KEY=WORD`) and the words for a quiet node (the default) and a busy one.
   */
  readonly state?: StateChoice;
  /**
   * Packets worth trying for a rule with this data (`netfate diff` asks both dumps about
   * them): one that meets the condition and some on its boundaries. Absent: the extension
   * leaves the packet free.
   */
  witnesses?(data: D): readonly Witness[];
  /**
   * Which of the packet's addresses and ports `evaluate` (or `apply`) reads, for the flow memo
   * (netfilter/flow-reads.ts), which keys every other field of the packet as it is: `src` the
   * source address or any address of the packet's connection, `sport` likewise its port,
   * `dst`/`dport` only the packet's current destination; `state` when the answer also rests on
   * state packets change (counters, lists, buckets). Absent: it may read anything.
   */
  reads?(data: D): readonly PacketRead[];
}

/** A field `reads` names (see there). */
export type PacketRead = "src" | "dst" | "sport" | "dport" | "state";

/** Packet fields a witness may ask for. */
export interface WitnessFields {
  src?: string;
  dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  mark?: number;
  icmpType?: number;
  /** The destination must be an address of the node. */
  dstLocal?: boolean;
  /** The packet belongs to an established connection. */
  established?: boolean;
}

/**
 * What an extension offers the packet search. The search works out the boundaries of ranges
 * itself (one before, one past), so an extension says what it tests, not how to step past it.
 */
export type Witness =
  /** `want`: a packet with these fields meets the condition; each of `tries` sits on a boundary of it. */
  | { kind: "fields"; want?: WitnessFields; tries?: readonly WitnessFields[] }
  /** Port ranges of one field; the first range (or what lies outside all, when negated) is wanted. */
  | { kind: "ports"; field: "sport" | "dport"; ranges: readonly { lo: number; hi: number }[]; negated: boolean }
  /** An address range (`-m iprange`), inclusive. */
  | { kind: "addresses"; field: "src" | "dst"; from: string; to: string; negated: boolean }
  /** Members of an ipset: `flags` say which packet address (and port) each dimension is. */
  | { kind: "set"; name: string; flags: readonly ("src" | "dst")[]; negated: boolean };

export interface MatchExtension<D = unknown> extends ExtensionBase<D> {
  readonly type: "match";
  /**
   * The first words of this match's `-L` text (`"tcp"`, `"ADDRTYPE match"`, `"/*"`), so the
   * listing reader can dispatch without trying every extension.
   */
  readonly printPrefixes?: readonly string[];
  /** True for tcp/udp/icmp/...: loaded implicitly by `-p NAME` when one of its options is used. */
  readonly implicitForProtocol?: boolean;
  /**
   * The protocol number whose `-p` loads this match when its name is not the protocol's own
   * (`-p icmp` loads `icmp`, but ip6tables' `-p ipv6-icmp` loads `icmp6`).
   */
  readonly implicitProtocol?: number;
  /**
   * Whether the packet matches, as the kernel's match function decides. `{ indeterminate }`
   * when the inputs cannot tell (rate limits, socket owners...): both outcomes are then
   * explored and labelled with the reason; `{ branches }` for random sampling. A match
   * without `evaluate` is indeterminate.
   */
  evaluate?(data: D, env: EvalEnv): MatchResult;
  /**
   * Every packet matches, whatever the data (`-m comment`): a compiled rule leaves it out of
   * the conditions a walk tests, so it costs nothing per packet.
   */
  readonly alwaysMatches?: true;
  /**
   * The one destination port a packet must have to match, when the data requires one. A long
   * chain files the rule under it so that a packet with another port skips the rule; asked
   * only of rules with a `-p` that is not negated.
   */
  indexDport?(data: D): number | undefined;
}

export interface TargetExtension<D = unknown> extends ExtensionBase<D> {
  readonly type: "target";
  /**
   * Tables the target may be used in; any when absent. Each was asked of iptables-restore
   * 1.8.9 (test/kernel/restore-refusals.test.ts); the binder refuses the target elsewhere, and
   * a fragment without `*table` lines is placed by it (syntax/infer-table.ts).
   */
  readonly tables?: readonly string[];
  /**
   * What `-L` prints in the target column when it is not the name: the kernel loads
   * NOTRACK as CT revision 2, so its row reads `CT ... NOTRACK`.
   */
  readonly listingName?: string;
  /**
   * What the target does to the packet (through `fx`) and the verdict it returns, as the
   * kernel's target function does. A target without `apply` is indeterminate.
   */
  apply?(data: D, env: EvalEnv, fx: TargetEffects): TargetResult;
}

export type Extension = MatchExtension<any> | TargetExtension<any>;

/** How `--assume` names one kind of state: `limit` with `full` (quiet) or `exhausted` (busy). */
export interface StateChoice {
  key: string;
  quiet: string;
  busy?: string;
  /** What the state is, for help and errors: "token buckets of limit and hashlimit". */
  what: string;
}
