/**
 * Expressions netfate reads but does not evaluate, kept as written (`NftOtherExpr`): IPv6
 * extension headers, routing data, socket lookups, OS fingerprints, IPsec state, TCP and IP
 * options. Each reads by its own small grammar (from nft's parser_bison.y) so that the words
 * that follow it are left for the rest of the rule.
 */
import type { NftOtherExpr } from "../../model/nft.js";
import { wordTable, type ExprKind, type WordReader } from "./types.js";

const TCP_OPTIONS = new Set(["eol", "nop", "maxseg", "window", "sack-perm", "sack", "sack0", "sack1", "sack2", "sack3", "timestamp", "mptcp", "fastopen", "md5sig"]);
const TCP_OPTION_FIELDS = new Set(["kind", "length", "size", "count", "left", "right", "tsval", "tsecr", "subtype", "value"]);
const IP_OPTIONS = new Set(["rr", "lsrr", "ssrr", "ra"]);
const IP_OPTION_FIELDS = new Set(["type", "length", "value", "ptr", "addr"]);
const EXTHDRS = new Set(["hbh", "rt", "rt0", "rt2", "srh", "frag", "dst", "mh"]);
const EXTHDR_FIELDS = new Set([
  "nexthdr", "hdrlength", "type", "seg-left", "reserved", "more-fragments", "id", "frag-off", "res2", "reserved2",
  "checksum", "last-entry", "flags", "tag", "addr", "sid",
]);
const RT_KEYS = new Set(["classid", "nexthop", "mtu", "ipsec"]);
const SOCKET_KEYS = new Set(["transparent", "mark", "wildcard"]);
const IPSEC_KEYS = new Set(["reqid", "spi"]);

/** A reader of one kind's words: returns how many words it spans, or undefined if it does not start here. */
type Grammar = (r: WordReader) => number | undefined;

const is = (w: string | undefined, s: ReadonlySet<string>): boolean => w !== undefined && s.has(w);
const isNumber = (w: string | undefined): boolean => w !== undefined && /^[0-9]+$/.test(w);

/** Which kind it is, how nft names it, and its grammar. Order matters: `rt nexthop` before exthdr `rt type`. */
const GRAMMARS: ReadonlyArray<readonly [string, Grammar]> = [
  ["tcp option", (r) => {
    if (r.peek() !== "tcp" || r.peek(1) !== "option") return undefined;
    const name = r.peek(2);
    if (name !== undefined && /^@[0-9]+,[0-9]+,[0-9]+$/.test(name)) return 3;
    if (!is(name, TCP_OPTIONS)) return undefined;
    return is(r.peek(3), TCP_OPTION_FIELDS) ? 4 : 3;
  }],
  ["ip option", (r) => {
    if (r.peek() !== "ip" || r.peek(1) !== "option" || !is(r.peek(2), IP_OPTIONS)) return undefined;
    return is(r.peek(3), IP_OPTION_FIELDS) ? 4 : 3;
  }],
  ["rt", (r) => {
    if (r.peek() !== "rt") return undefined;
    if (r.peek(1) === "ip" || r.peek(1) === "ip6") return is(r.peek(2), RT_KEYS) ? 3 : undefined;
    return is(r.peek(1), RT_KEYS) ? 2 : undefined;
  }],
  ["exthdr", (r) => {
    if (r.peek() === "exthdr") return is(r.peek(1), EXTHDRS) ? 2 : undefined;
    if (!is(r.peek(), EXTHDRS) || !is(r.peek(1), EXTHDR_FIELDS)) return undefined;
    // `srh sid[1]`, `rt0 addr[1]` carry an index in brackets, one word for the tokenizer.
    return 2;
  }],
  ["socket", (r) => {
    if (r.peek() !== "socket") return undefined;
    if (r.peek(1) === "cgroupv2" && r.peek(2) === "level" && isNumber(r.peek(3))) return 4;
    return is(r.peek(1), SOCKET_KEYS) ? 2 : undefined;
  }],
  ["osf", (r) => {
    if (r.peek() !== "osf") return undefined;
    let n = 1;
    if (r.peek(1) === "ttl") {
      if (!["loose", "skip", "global"].includes(r.peek(2) ?? "")) return undefined;
      n = 3;
    }
    return r.peek(n) === "name" || r.peek(n) === "version" ? n + 1 : undefined;
  }],
  ["ipsec", (r) => {
    if (r.peek() !== "ipsec" || (r.peek(1) !== "in" && r.peek(1) !== "out")) return undefined;
    let n = 2;
    if (r.peek(2) === "spnum") {
      if (!isNumber(r.peek(3))) return undefined;
      n = 4;
    }
    if (is(r.peek(n), IPSEC_KEYS)) return n + 1;
    if ((r.peek(n) === "ip" || r.peek(n) === "ip6") && (r.peek(n + 1) === "saddr" || r.peek(n + 1) === "daddr")) return n + 2;
    return undefined;
  }],
];

const addressOf = (words: readonly string[]): string => (words.includes("ip6") ? "ipv6_addr" : "ipv4_addr");

/** Datatypes of the fields nft compares with something other than a number, by kind and last word. */
const FIELD_TYPES: Readonly<Record<string, (words: readonly string[]) => string>> = wordTable({
  "rt nexthop": addressOf,
  "rt classid": () => "realm",
  "socket mark": () => "mark",
  "osf name": () => "string",
  "osf version": () => "string",
  "ipsec saddr": addressOf,
  "ipsec daddr": addressOf,
  "exthdr nexthdr": () => "inet_proto",
});

function otherType(e: NftOtherExpr): string[] | undefined {
  const words = e.text.split(" ");
  // `exthdr hbh` alone tests the header's presence: `exists` / `missing`.
  if (words[0] === "exthdr") return ["boolean"];
  const typeOf = FIELD_TYPES[`${e.name} ${words[words.length - 1]}`];
  return [typeOf ? typeOf(words) : "integer"];
}

export const otherKind: ExprKind<NftOtherExpr> = {
  kind: "other",
  // What follows these is too varied to call an unknown key an error: kept as written.
  keywords: [],
  starts(r) {
    return GRAMMARS.some(([, g]) => g(r) !== undefined);
  },
  read(r) {
    for (const [name, g] of GRAMMARS) {
      const n = g(r);
      if (n === undefined) continue;
      const words: string[] = [];
      for (let i = 0; i < n; i++) words.push(r.take());
      return { kind: "other", name, text: words.join(" ") };
    }
    return r.fail("an expression");
  },
  type: otherType,
  print(e) {
    return e.text;
  },
};
