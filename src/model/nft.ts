/**
 * The typed AST of an nftables ruleset, whichever way it was given: `nft list ruleset` text
 * (with or without handles, stateless, numeric), `nft -j list ruleset` JSON, or an `nft -f`
 * script once its commands are applied. It follows the kernel's objects (tables, chains, sets,
 * maps, stateful objects, flowtables, rules of statements) and libnftables' own expression
 * vocabulary, so the text reader, the JSON reader and the printer meet in one shape.
 *
 * Values are resolved while reading: a constant carries its datatype (named as nft names it:
 * `ipv4_addr`, `inet_service`, `ct_state`...) and a value the evaluator can use directly (a
 * number, or a canonical address or name). What the reader cannot understand is kept verbatim
 * as `other`, located, and evaluated as indeterminate; nothing is dropped.
 */
import type { Span } from "./span.js";

export type NftFamily = "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev";

export const NFT_FAMILIES: readonly NftFamily[] = ["ip", "ip6", "inet", "arp", "bridge", "netdev"];

export type NftHook = "prerouting" | "input" | "forward" | "output" | "postrouting" | "ingress" | "egress";

export type NftChainType = "filter" | "nat" | "route";

/** One `nft list ruleset` (or JSON, or applied script). */
export interface NftRuleset {
  tables: NftTable[];
  /** How it was given. */
  source: "list" | "json" | "script";
  /** `include "FILE"` lines of a script: reported, not followed. */
  includes?: { file: string; span: Span }[];
  /** `define NAME = VALUE` of a script, as written (already substituted where used). */
  defines?: { name: string; value: string; span: Span }[];
}

export interface NftTable {
  family: NftFamily;
  name: string;
  /** The kernel's handle (`nft -a`, JSON). */
  handle?: number;
  /** `flags dormant`, `flags owner, persist`... as nft prints them. */
  flags: string[];
  comment?: string;
  chains: NftChain[];
  /** Named sets and maps, in listing order. */
  sets: NftSet[];
  objects: NftObject[];
  flowtables: NftFlowtable[];
  /**
   * The table holds iptables-nft's rules: nft warns "table ip filter is managed by
   * iptables-nft, do not touch!" and untranslatable matches show as `xt match NAME`. Such a
   * table is evaluated from the `iptables-save` dump when one is given.
   */
  managedBy?: "iptables-nft";
  span: Span;
}

export interface NftChain {
  name: string;
  handle?: number;
  /** Absent for a regular chain (reached only by jump, goto or a verdict map). */
  base?: NftBaseChain;
  rules: NftRule[];
  comment?: string;
  span: Span;
}

export interface NftBaseChain {
  type: NftChainType;
  hook: NftHook;
  /** The priority as a number (`dstnat - 10` is -110 in ip/ip6/inet, `filter` is 0). */
  priority: number;
  /** The priority as written or printed: `dstnat - 10`, `filter`, `-150`. */
  priorityText: string;
  /** Absent: nft's default, accept (a nat or route chain has no other). */
  policy?: "accept" | "drop";
  /** `device "eth0"` / `devices = { eth0, eth1 }` (netdev and flowtables; inet ingress). */
  devices?: string[];
}

export interface NftRule {
  /** The kernel's handle (`nft -a`, JSON, scripts that `insert ... handle N`). */
  handle?: number;
  stmts: NftStmt[];
  comment?: string;
  span: Span;
}

/** A named set or map (`set NAME { ... }`, `map NAME { ... }`). */
export interface NftSet {
  kind: "set" | "map";
  name: string;
  handle?: number;
  /**
   * The key's datatypes, one per part of a concatenation (`ipv4_addr . inet_proto .
   * inet_service` is three). Given by `type`, or derived from `typeof` expressions.
   */
  keyType: string[];
  /** `typeof ip saddr . tcp dport`: the expressions the key was declared by, when it was. */
  keyTypeof?: NftExpr[];
  /** A map's value type (`verdict`, `ipv4_addr . inet_service`, `mark`), one per part. */
  dataType?: string[];
  dataTypeof?: NftExpr[];
  /** `interval`, `timeout`, `constant`, `dynamic`... */
  flags: string[];
  /** Default element timeout and GC interval, in milliseconds. */
  timeout?: number;
  gcInterval?: number;
  size?: number;
  policy?: "performance" | "memory";
  /** `auto-merge`. */
  autoMerge?: boolean;
  /** Elements carry a counter (`counter` line in the set). */
  counter?: boolean;
  comment?: string;
  elements: NftElement[];
  span: Span;
}

/** One element of a set or map literal or a named set. */
export interface NftElement {
  /** A constant, prefix, range, or a concatenation of them. */
  key: NftExpr;
  /** A map element's value: a constant, concatenation or verdict. */
  data?: NftExpr;
  timeout?: number;
  /** Milliseconds left, as listed (`expires 9s`): what the dump saw at the time. */
  expires?: number;
  counter?: { packets: number; bytes: number };
  comment?: string;
  span?: Span;
}

export type NftObjectType = "counter" | "quota" | "limit" | "ct helper" | "ct timeout" | "ct expectation" | "secmark" | "synproxy";

/** A named stateful object (`counter NAME { packets 0 bytes 0 }` ...). */
export interface NftObject {
  type: NftObjectType;
  name: string;
  handle?: number;
  /** The object's properties as its block lists them, in order (`packets` → 0, `protocol` → "tcp"). */
  props: { key: string; value: string | number }[];
  comment?: string;
  span: Span;
}

export interface NftFlowtable {
  name: string;
  handle?: number;
  hook: NftHook;
  priority: number;
  priorityText: string;
  devices: string[];
  flags: string[];
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Expressions: what a statement reads or compares.

/** `ip saddr`, `tcp dport`, `th dport`, or raw `@nh,16,16`. */
export type NftPayload =
  | { kind: "payload"; protocol: string; field: string }
  | { kind: "payload"; base: "ll" | "nh" | "th" | "ih"; offset: number; len: number };

/** `meta l4proto`, `iifname`, `mark`... (`key` as nft names it in `meta KEY`). */
export interface NftMeta {
  kind: "meta";
  key: string;
}

/** `ct state`, `ct mark`, `ct original ip saddr`, `ct reply proto-dst`... */
export interface NftCt {
  kind: "ct";
  key: string;
  dir?: "original" | "reply";
  /** `ct original ip saddr`: the family the address is read in. */
  family?: "ip" | "ip6";
}

/** `fib saddr . iif oif`, `fib daddr type`. */
export interface NftFib {
  kind: "fib";
  /** What the lookup is keyed by, in order: `saddr`/`daddr`, `mark`, `iif`/`oif`. */
  flags: string[];
  result: "oif" | "oifname" | "type";
}

/** `numgen random mod 3`, `numgen inc mod 2 offset 1`. */
export interface NftNumgen {
  kind: "numgen";
  mode: "random" | "inc";
  mod: number;
  offset: number;
}

/** `jhash ip saddr . tcp sport mod 2 seed 0x1 offset 0`, `symhash mod 2`. */
export interface NftHash {
  kind: "hash";
  mode: "jhash" | "symhash";
  expr?: NftExpr;
  mod: number;
  seed?: number;
  offset: number;
}

/**
 * A constant, resolved against the datatype the other side of its statement gives it.
 * `value`: a number for integer and bitmask types (ports, marks, `ct state`'s bits), a
 * canonical address string for address types, the name for strings (`ifname`). `text`: the
 * word it was written as, when not its canonical printing (`ssh`, `established`).
 */
export interface NftConst {
  kind: "const";
  type: string;
  value: number | bigint | string;
  text?: string;
  /** An interface name ending in an unescaped `*` (`"veth*"`): matches names starting with the rest. */
  wildcard?: boolean;
}

/** `10.0.0.0/8` (also an integer prefix of a non-address type). */
export interface NftPrefix {
  kind: "prefix";
  base: NftConst;
  len: number;
}

/** `1024-65535`, `10.0.0.1-10.0.0.9`. */
export interface NftRange {
  kind: "range";
  lo: NftConst;
  hi: NftConst;
}

/** `ip daddr . tcp dport`, `10.0.0.1 . tcp . 80`. */
export interface NftConcat {
  kind: "concat";
  parts: NftExpr[];
}

/** An anonymous set or map literal: `{ 22, 80 }`, `{ 0 : goto a, 1 : goto b }`. */
export interface NftSetLiteral {
  kind: "set";
  elements: NftElement[];
}

/** `@name`: a named set or map of the same table. */
export interface NftSetRef {
  kind: "setref";
  name: string;
}

/** `KEY map @m` / `KEY map { ... }`: the value a map holds for the key. */
export interface NftMapLookup {
  kind: "map";
  key: NftExpr;
  map: NftSetLiteral | NftSetRef;
}

/** `meta mark & 0xff`, `meta mark | 0x4000`, `ct mark >> 8`. */
export interface NftBinop {
  kind: "binop";
  op: "&" | "|" | "^" | "<<" | ">>";
  left: NftExpr;
  right: NftExpr;
}

export type NftVerdictCode = "accept" | "drop" | "continue" | "return" | "jump" | "goto" | "queue";

/** A verdict, as a statement or as a verdict map's value. */
export interface NftVerdict {
  kind: "verdict";
  verdict: NftVerdictCode;
  /** For jump and goto. */
  chain?: string;
}

/**
 * An expression netfate does not evaluate (exthdr, rt, socket, osf, ipsec, tcp option...),
 * kept as written so it prints back and its rule is evaluated as indeterminate.
 */
export interface NftOtherExpr {
  kind: "other";
  /** The expression's kind as nft names it (`exthdr`, `rt`, `socket`, `tcp option`). */
  name: string;
  text: string;
}

export type NftExpr =
  | NftPayload
  | NftMeta
  | NftCt
  | NftFib
  | NftNumgen
  | NftHash
  | NftConst
  | NftPrefix
  | NftRange
  | NftConcat
  | NftSetLiteral
  | NftSetRef
  | NftMapLookup
  | NftBinop
  | NftVerdict
  | NftOtherExpr;

// ---------------------------------------------------------------------------------------------
// Statements: what a rule is made of, in order.

/**
 * A relational test. `implicit` is how nft writes it with no operator: equality, membership of
 * a set, or, for a bitmask type (`ct state`, `tcp flags`), "any of these bits" (JSON's `in`).
 */
export type NftOp = "implicit" | "==" | "!=" | "<" | ">" | "<=" | ">=";

export interface NftMatch {
  kind: "match";
  left: NftExpr;
  op: NftOp;
  right: NftExpr;
}

/** `KEY vmap @m` / `KEY vmap { ... }`: the verdict the map holds for the key, if any. */
export interface NftVmap {
  kind: "vmap";
  key: NftExpr;
  map: NftSetLiteral | NftSetRef;
}

export interface NftCounter {
  kind: "counter";
  /** Absent with `nft -s` (stateless listing). */
  packets?: number;
  bytes?: number;
}

export interface NftLog {
  kind: "log";
  prefix?: string;
  level?: string;
  group?: number;
  snaplen?: number;
  queueThreshold?: number;
  /** `flags tcp sequence,options`, `flags all`... */
  flags?: string[];
}

export interface NftLimit {
  kind: "limit";
  rate: number;
  per: "second" | "minute" | "hour" | "day" | "week";
  /** `bytes` limits give their unit (`kbytes`...); packets when absent. */
  unit?: string;
  burst?: number;
  burstUnit?: string;
  /** `limit rate over ...`: matches when the rate is exceeded. */
  over: boolean;
}

export interface NftQuota {
  kind: "quota";
  bytes: number;
  unit?: string;
  used?: number;
  usedUnit?: string;
  over: boolean;
}

/** `dnat to ADDR:PORT`, `snat ip to ...`, `masquerade`, `redirect to :PORT`. */
export interface NftNat {
  kind: "nat";
  type: "snat" | "dnat" | "masquerade" | "redirect";
  /** `dnat ip to`, `snat ip6 to` in inet tables. */
  family?: "ip" | "ip6";
  /** An address, range, prefix, or map lookup (`ip daddr . tcp dport map @x`). */
  addr?: NftExpr;
  /** A port or port range (absent when the address expression gives both, see `addrPort`). */
  port?: NftExpr;
  /** The address expression yields address and port (a concatenated map value). */
  addrPort?: boolean;
  /** `random`, `fully-random`, `persistent`, `netmap`, `prefix`. */
  flags: string[];
}

export interface NftReject {
  kind: "reject";
  /** `icmp`, `icmpv6`, `icmpx`, `tcp reset`; absent: the family's default. */
  type?: "icmp" | "icmpv6" | "icmpx" | "tcp reset";
  /** `port-unreachable`, `admin-prohibited`... as written/printed. */
  code?: string;
}

/** `meta mark set EXPR`, `ct mark set meta mark`, `ip dscp set cs1`. */
export interface NftMangle {
  kind: "mangle";
  target: NftMeta | NftCt | NftPayload | NftOtherExpr;
  value: NftExpr;
}

export interface NftNotrack {
  kind: "notrack";
}

/** `add @s { ip saddr }`, `update @s { ip saddr timeout 10s }`, `delete @s { ... }`. */
export interface NftSetStmt {
  kind: "setop";
  op: "add" | "update" | "delete";
  set: string;
  key: NftExpr;
  /** A map's value (`update @m { ip saddr : 0x1 }`). */
  data?: NftExpr;
  timeout?: number;
  /** Statements attached to the element (`limit rate over 10/second`, `counter`). */
  stmts?: NftStmt[];
}

export interface NftQueue {
  kind: "queue";
  /** `num 3`, `num 1-3`, as written. */
  num?: string;
  flags?: string[];
}

/** A reference to a named stateful object: `counter name "c"`, `ct helper set "ftp"`, `quota name "q"`. */
export interface NftObjRef {
  kind: "objref";
  type: NftObjectType;
  name: NftExpr;
}

/** An iptables-nft compatibility expression nft cannot translate (`xt match set`, `xt target LOG`). */
export interface NftXt {
  kind: "xt";
  type: "match" | "target" | "watcher";
  name: string;
}

/** A statement netfate does not evaluate (dup, fwd, tproxy, synproxy, secmark...), kept as written. */
export interface NftOtherStmt {
  kind: "other";
  name: string;
  text: string;
}

export type NftStmt =
  | NftMatch
  | NftVerdict
  | NftVmap
  | NftCounter
  | NftLog
  | NftLimit
  | NftQuota
  | NftNat
  | NftReject
  | NftMangle
  | NftNotrack
  | NftSetStmt
  | NftQueue
  | NftObjRef
  | NftXt
  | NftOtherStmt;

/**
 * The numbers nft's named priorities stand for (`nft describe`, src/rule.c std_prios): in the
 * ip, ip6 and inet families, and in bridge, where they differ. The iptables tables register
 * their hooks at the same numbers (raw -300, mangle -150, nat -100/100, filter 0, security 50).
 */
export const NFT_PRIORITIES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

export const NFT_BRIDGE_PRIORITIES: Readonly<Record<string, number>> = {
  dstnat: -300,
  filter: -200,
  out: 100,
  srcnat: 300,
};

/** Which families' packets a table of `family` sees, of those netfate evaluates. */
export function nftFamilySees(family: NftFamily, packet: "ipv4" | "ipv6"): boolean {
  return family === "inet" || (family === "ip" && packet === "ipv4") || (family === "ip6" && packet === "ipv6");
}

/** The packet families any table of these rulesets sees (ip, ip6, inet; the others are not on the IP path). */
export function nftPacketFamilies(rulesets: readonly NftRuleset[]): ("ipv4" | "ipv6")[] {
  return (["ipv4", "ipv6"] as const).filter((f) => rulesets.some((rs) => rs.tables.some((t) => nftFamilySees(t.family, f))));
}
