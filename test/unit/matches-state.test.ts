/**
 * Matches whose answer hangs on state netfate does not see — rate buckets (limit), recent
 * lists, the sending socket (owner), local sockets (socket), IPsec (policy): the cases where
 * the kernel's answer is nevertheless certain, and "indeterminate" where it is not. Then
 * their option errors, and printings beyond what the reference dumps cover.
 */
import { QUIET_NODE } from "../../src/extensions/matches/limit.js";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import { ruleDrops } from "../support/rule-verdict.js";

const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

const base: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
/** A packet this node sends. */
const local: Partial<PacketSpec> = { from: "local", src: undefined, dst: "8.8.8.8" };
/** A packet routed through this node (eth0 → cni0). */
const forwarded: Partial<PacketSpec> = { dst: "10.244.0.5" };
const noPorts: Partial<PacketSpec> = { sport: undefined, dport: undefined, tcpFlags: undefined };

type Want = boolean | "indeterminate";

/** Whether the single rule `spec -j DROP` in `table`/`chain` drops the packet (policies ACCEPT). */
function dropsIn(table: string, chain: string, spec: string, p: Partial<PacketSpec> = {}): Want {
  return ruleDrops({ table, chain, spec, packet: { ...base, ...p }, node });
}

/** As in extensions-eval.test.ts: the rule in filter INPUT. */
const drops = (spec: string, p: Partial<PacketSpec> = {}) => dropsIn("filter", "INPUT", spec, p);

const CASES: Record<string, Array<[() => Want, Want]>> = {
  // A flow's token bucket is state netfate does not see, whatever the options.
  hashlimit: [
    [() => drops("-m hashlimit --hashlimit-upto 10/sec --hashlimit-mode srcip --hashlimit-name h1"), "indeterminate"],
    [() => drops("-m hashlimit --hashlimit-above 1mb/s --hashlimit-name h2"), "indeterminate"],
  ],
  limit: [
    [() => drops("-m limit --limit 5/min"), "indeterminate"],
    [() => drops("-m limit --limit 10000/sec --limit-burst 10000"), "indeterminate"],
  ],
  recent: [
    // --set records the address and always matches (inverted by `!`).
    [() => drops("-m recent --set --name ssh"), true],
    [() => drops("-m recent ! --set --name ssh"), false],
    [() => drops("-m recent --rcheck --seconds 60 --hitcount 4 --name ssh"), "indeterminate"],
    [() => drops("-m recent --update --seconds 60 --name ssh"), "indeterminate"],
    [() => drops("-m recent --remove --name ssh"), "indeterminate"],
    [() => drops("-m recent ! --rcheck --name ssh"), "indeterminate"],
  ],
  owner: [
    // A forwarded packet has no socket: only all-negated tests hold.
    [() => dropsIn("mangle", "POSTROUTING", "-m owner --socket-exists", forwarded), false],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --socket-exists", forwarded), true],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner --uid-owner 0", forwarded), false],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --uid-owner 33", forwarded), true],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --uid-owner 33 --gid-owner 100", forwarded), false],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --gid-owner 100 --suppl-groups", forwarded), false],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --uid-owner 1000", forwarded), true],
    // The kernel refuses owner in other hooks: the ruleset would not load.
    [() => dropsIn("filter", "FORWARD", "-m owner ! --uid-owner 33", forwarded), "indeterminate"],
    // A packet of this node: which process sent it is not known.
    [() => dropsIn("filter", "OUTPUT", "-m owner --uid-owner 0", local), "indeterminate"],
    [() => dropsIn("filter", "OUTPUT", "-m owner --socket-exists", local), "indeterminate"],
    [() => dropsIn("mangle", "POSTROUTING", "-m owner ! --uid-owner 33", local), "indeterminate"],
  ],
  socket: [
    [() => dropsIn("mangle", "PREROUTING", "-m socket"), "indeterminate"],
    // A TPROXY'd connection's socket holds a foreign address: forwarded TCP is no exception.
    [() => dropsIn("mangle", "PREROUTING", "-p tcp -m socket --transparent", forwarded), "indeterminate"],
    [() => dropsIn("mangle", "PREROUTING", "-m socket --nowildcard", { proto: 17, tcpFlags: undefined }), "indeterminate"],
    // Nothing to look a socket up by: GRE, an echo request.
    [() => dropsIn("mangle", "PREROUTING", "-m socket", { ...noPorts, proto: 47 }), false],
    [() => dropsIn("mangle", "PREROUTING", "-m socket", { ...noPorts, proto: 1, icmpType: 8, icmpCode: 0 }), false],
    // An ICMP error is looked up by the header it quotes.
    [() => dropsIn("mangle", "PREROUTING", "-m socket", { ...noPorts, proto: 1, icmpType: 3, icmpCode: 3 }), "indeterminate"],
  ],
  policy: [
    // Packets arrive in the clear (no sec_path): only --pol none matches on the way in.
    [() => drops("-m policy --dir in --pol none"), true],
    [() => drops("-m policy --dir in --pol ipsec"), false],
    [() => drops("-m policy --dir in --pol ipsec --proto esp"), false],
    [() => drops("-m policy --dir in --pol ipsec --strict --proto esp --next --proto ah"), false],
    [() => dropsIn("filter", "FORWARD", "-m policy --dir in --pol none", forwarded), true],
    // On the way out it depends on the node's xfrm policies.
    [() => dropsIn("filter", "OUTPUT", "-m policy --dir out --pol none", local), "indeterminate"],
    [() => dropsIn("filter", "FORWARD", "-m policy --dir out --pol ipsec", forwarded), "indeterminate"],
  ],
};

describe("state-dependent match semantics", () => {
  for (const [ext, cases] of Object.entries(CASES)) {
    it(ext, () => {
      cases.forEach(([run, want], i) => expect(run(), `${ext} case ${i + 1}`).toBe(want));
    });
  }
  it("a rate limit on a quiet node has tokens: the rule matches, and the outcome says it assumed so", () => {
    const r = parseRules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit --limit 3/min -j DROP\nCOMMIT\n");
    const outs = buildNode({ rulesets: [r.value], node }).evaluate(base).outcomes;
    expect(outs.map((o) => o.fate.kind)).toEqual(["dropped"]);
    expect(outs[0]!.assumptions).toContain(QUIET_NODE);
    const above = parseRules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m hashlimit --hashlimit-above 3/min --hashlimit-name x -j DROP\nCOMMIT\n");
    const outsAbove = buildNode({ rulesets: [above.value], node }).evaluate(base).outcomes;
    expect(outsAbove.map((o) => o.fate.kind)).toEqual(["delivered"]);
    expect(outsAbove[0]!.assumptions).toContain(QUIET_NODE);
  });
});

/** First error for a rule in filter INPUT, as `column: message`. */
function firstError(spec: string, family: "ipv4" | "ipv6" = "ipv4"): string | undefined {
  const r = parseRules(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${spec} -j ACCEPT\nCOMMIT\n`, { family });
  const e = r.diagnostics.find((d) => d.severity === "error");
  return e && `${e.col}: ${e.message}`;
}

describe("option errors, located", () => {
  // spec, the text the error points at (its last occurrence; `-m` for the match as a whole), message
  const BAD: Array<[string, string, string]> = [
    ["-m limit --limit 5/fortnight", "--limit", 'limit: bad rate "5/fortnight"'],
    ["-m limit --limit 0/sec", "--limit", 'limit: bad rate "0/sec"'],
    ["-m limit --limit 20000/sec", "--limit", 'limit: rate too fast "20000/sec"'],
    ["-m limit --limit-burst 10001", "--limit-burst", "limit: bad --limit-burst"],
    ["-m limit --limit 1/s --limit 2/s", "--limit", "limit: --limit given more than once"],
    ["-m recent --name x", "-m", "recent: you must specify one of --set, --rcheck, --update or --remove"],
    ["-m recent --set --rcheck", "--rcheck", "recent: --rcheck cannot be used together with --set"],
    ["-m recent --rcheck --reap", "--reap", 'recent: option "--reap" also requires "--seconds"'],
    ["-m recent --set --rttl", "--rttl", "recent: --rttl cannot be used together with --set"],
    ["-m recent --set --seconds 5", "--seconds", "recent: the kernel refuses --seconds with --set"],
    ["-m recent --rcheck --seconds 0", "--seconds", "recent: bad --seconds"],
    ["-m recent --set --mask 255.255.0.0/16", "--mask", "recent: bad --mask"],
    ["-m owner", "-m", "owner: at least one of --uid-owner, --gid-owner or --socket-exists is required"],
    ["-m owner --uid-owner no/such/user", "--uid-owner", "owner: bad value for --uid-owner"],
    ["-m owner --uid-owner 4294967295", "--uid-owner", "owner: bad value for --uid-owner"],
    ["-m owner --suppl-groups --gid-owner 27", "--suppl-groups", "owner: --suppl-groups needs --gid-owner first"],
    ["-m policy --pol none", "-m", "policy match: neither --dir in nor --dir out specified"],
    ["-m policy --dir sideways", "--dir", 'policy match: invalid dir "sideways"'],
    ["-m policy --dir in --pol ipsec --proto tcp", "--proto", "policy match: bad value for --proto"],
    ["-m policy --dir in --pol ipsec --proto esp --next --proto ah", "--next", 'policy match: option "--next" also requires "--strict"'],
    ["-m policy --dir in --pol none --strict", "--strict", "policy match: policy none but --strict given"],
    ["-m policy --dir in --pol ipsec --strict --proto esp --proto ah", "--proto", "policy match: double --proto option"],
    ["-m policy --dir in --pol ipsec --tunnel-src 10.0.0.1", "-m", "policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode"],
    [
      "-m policy --dir in --pol ipsec --strict --next --proto esp", "-m",
      "policy match: empty policy element 0. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required.",
    ],
  ];
  // The rule text starts at column 10, after `-A INPUT `.
  for (const [spec, at, message] of BAD) it(spec, () => expect(firstError(spec)).toBe(`${10 + spec.lastIndexOf(at)}: ${message}`));
  it("accepts what iptables accepts", () => {
    for (const spec of [
      "-m limit --limit 1/s", "-m limit --limit 7/MIN --limit-burst 0", "-m recent --name KUBE --rcheck --seconds 180 --reap",
      "-m owner --uid-owner root --gid-owner 0x64", "-m owner --uid-owner 1000:2000", "-m socket --restore-skmark --transparent",
      // A name only the node can resolve: kept, with a warning (see listing-verbose-names.test.ts).
      "-m owner --uid-owner nosuchuser",
      "-m policy --dir out --pol ipsec --strict --mode tunnel --tunnel-dst 10.0.0.0/8 --next --proto ah",
    ]) expect(firstError(spec), spec).toBeUndefined();
  });
});

/** The rule's save text, its -L and -nL texts, and the save text of each listing read back. */
function printings(spec: string, chain = "INPUT", family: "ipv4" | "ipv6" = "ipv4") {
  const rs = parseRules(`*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A ${chain} ${spec} -j ACCEPT\nCOMMIT\n`, { family }).value;
  const rule = rs.tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
  const row = (numeric: boolean) => {
    const text = listText(rs, { numeric });
    const line = text.split("\n").find((l) => l.startsWith("ACCEPT "))!;
    const back = parseListing(text, new DiagnosticSink("t"), { family, table: "filter" }).tables[0]!.chains.find((c) => c.name === chain)!.rules.load()[0]!;
    return { extras: line.replace(/^ACCEPT\s+\S+\s+--\s+\S+\s+\S+\s+/, ""), back: ruleSpecText({ ...back, inInterface: undefined, outInterface: undefined }, family) };
  };
  return { save: ruleSpecText(rule, family), L: row(false), nL: row(true) };
}

describe("printings beyond the reference dumps", () => {
  const CASES: Array<[string, string, string, string?]> = [
    // spec → save, -L extras [, -nL extras when different]
    ["-m limit --limit 60/min", " -m limit --limit 1/sec", "limit: avg 1/sec burst 5"],
    ["-m limit --limit 7/minute --limit-burst 1", " -m limit --limit 7/min --limit-burst 1", "limit: avg 7/min burst 1"],
    ["-m recent ! --update --seconds 10 --hitcount 2 --rttl --rdest --name x --mask 255.255.0.0", " -m recent ! --update --seconds 10 --hitcount 2 --rttl --name x --mask 255.255.0.0 --rdest", "! recent: UPDATE seconds: 10 hit_count: 2 TTL-Match name: x side: dest mask: 255.255.0.0"],
    ["-m owner ! --gid-owner 27 --suppl-groups --socket-exists", " -m owner --socket-exists ! --gid-owner 27 --suppl-groups", "owner socket exists ! owner GID match sudo incl. suppl. groups", "owner socket exists ! owner GID match 27 incl. suppl. groups"],
    ["-m owner --uid-owner nobody", " -m owner --uid-owner 65534", "owner UID match nobody", "owner UID match 65534"],
    ["-m socket --restore-skmark --nowildcard --transparent", " -m socket --transparent --nowildcard --restore-skmark", "socket --transparent --nowildcard --restore-skmark"],
    [
      "-m policy --dir out --pol ipsec --strict --reqid 7 --spi 0x100 --mode tunnel ! --tunnel-dst 10.1.0.0/16 --tunnel-src 10.2.0.1 --next --proto ah",
      " -m policy --dir out --pol ipsec --strict --reqid 7 --spi 0x100 --mode tunnel ! --tunnel-dst 10.1.0.0/16 --tunnel-src 10.2.0.1 --next --proto ah",
      "policy match dir out pol ipsec strict [0] reqid 7 spi 0x100 mode tunnel ! tunnel-dst 10.1.0.0/16 tunnel-src 10.2.0.1 [1] proto ah",
      "policy match dir out pol ipsec strict [0] reqid 7 spi 0x100 mode tunnel ! tunnel-dst 10.1.0.0/16 tunnel-src 10.2.0.1 [1] proto 51",
    ],
  ];
  for (const [spec, save, L, nL] of CASES) {
    it(spec, () => {
      const chain = spec.includes("owner") || spec.includes("--dir out") ? "OUTPUT" : "INPUT";
      const p = printings(spec, chain);
      expect(p.save).toBe(`${save} -j ACCEPT`);
      expect(p.L.extras).toBe(L);
      expect(p.nL.extras).toBe(nL ?? L);
      expect(p.L.back).toBe(p.save);
      expect(p.nL.back).toBe(p.save);
    });
  }
  it("recent on IPv6 keeps the full mask by default", () => {
    expect(printings("-m recent --set", "INPUT", "ipv6").save).toBe(" -m recent --set --name DEFAULT --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource -j ACCEPT");
  });
});
