/**
 * Stateful matches on a quiet node: recent lists empty, no other connections (connlimit), a
 * quota with all its bytes, nth counters at their start. Each is decided as the kernel decides
 * a first packet, and the outcome says what it assumed — once, however many rules assumed it.
 * Then connlimit's and quota's options, printings and listings, as iptables 1.8.9 has them
 * (measured with the real tool in a namespace; see the comments in connlimit.ts and quota.ts).
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import type { Family } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { QUIET_RECENT } from "../../src/extensions/matches/recent.js";
import { QUIET_CONNECTIONS, connlimitPrefix } from "../../src/extensions/matches/connlimit.js";
import { QUIET_QUOTA, parseUnsigned64 } from "../../src/extensions/matches/quota.js";
import { QUIET_NTH } from "../../src/extensions/matches/statistic.js";
import { QUIET_NODE } from "../../src/extensions/matches/limit.js";
import { simpleNode } from "../support/simple-node.js";

const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
/** A TCP SYN to the node: 40 bytes, as the kernel tests send it. */
const syn: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2, length: 40 };
const syn6: PacketSpec = { ...syn, family: "ipv6", src: "2001:db8::99", dst: "2001:db8::11" };
const node6 = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [] });

function outcomes(lines: string[], p: PacketSpec = syn, family: Family = "ipv4"): Outcome[] {
  const r = parseRules(["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...lines, "COMMIT", ""].join("\n"), { family });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const v = family === "ipv6" ? { ...node6, isLocal: () => true, routeInput: () => ({ kind: "local" as const, dev: "lo" }) } : node;
  return buildNode({ rulesets: [r.value], node: v }).evaluate(p).outcomes;
}

/**
 * What the single rule `spec -j DROP` does to the packet: "dropped" or "delivered", with the
 * assumptions the outcome states; "indeterminate" when the match cannot decide.
 */
function verdict(spec: string, p: Partial<PacketSpec> = {}): { fate: string; assumptions: string[] } | "indeterminate" {
  const outs = outcomes([`-A INPUT ${spec} -j DROP`], { ...syn, ...p });
  if (outs.length !== 1 || (outs[0]!.given ?? []).length > 0) return "indeterminate";
  return { fate: outs[0]!.fate.kind, assumptions: outs[0]!.assumptions };
}

const dropped = (assuming?: string) => ({ fate: "dropped", assumptions: assuming ? [assuming] : [] });
const delivered = (assuming?: string) => ({ fate: "delivered", assumptions: assuming ? [assuming] : [] });

describe("a first packet on a quiet node, as the kernel decides it", () => {
  const CASES: Record<string, Array<[string, Partial<PacketSpec>, ReturnType<typeof verdict>]>> = {
    // xt_recent: an address not in the list answers with the inversion flag alone.
    recent: [
      ["-m recent --rcheck --name a", {}, delivered(QUIET_RECENT)],
      ["-m recent --update --name a", {}, delivered(QUIET_RECENT)],
      ["-m recent --remove --name a", {}, delivered(QUIET_RECENT)],
      ["-m recent ! --rcheck --name a", {}, dropped(QUIET_RECENT)],
      ["-m recent ! --update --seconds 60 --name a", {}, dropped(QUIET_RECENT)],
      ["-m recent ! --remove --name a --rdest", {}, dropped(QUIET_RECENT)],
      // Times, counts, TTL and side matter only once an entry is found.
      ["-m recent --rcheck --seconds 60 --hitcount 1 --rttl --name a", {}, delivered(QUIET_RECENT)],
      ["-m recent --update --seconds 60 --reap --hitcount 4 --name a --rdest --mask 255.255.255.0", {}, delivered(QUIET_RECENT)],
      // --set matches whatever the list held: nothing assumed.
      ["-m recent --set --name a", {}, dropped()],
      ["-m recent ! --set --name a --rdest", {}, delivered()],
    ],
    // nf_conncount counts the packet's own connection before the comparison: 1.
    connlimit: [
      ["-m connlimit --connlimit-above 0", {}, dropped(QUIET_CONNECTIONS)],
      ["-m connlimit --connlimit-above 1", {}, delivered(QUIET_CONNECTIONS)],
      ["-m connlimit --connlimit-above 10 --connlimit-mask 24 --connlimit-daddr", {}, delivered(QUIET_CONNECTIONS)],
      ["-m connlimit --connlimit-upto 0", {}, delivered(QUIET_CONNECTIONS)],
      ["-m connlimit --connlimit-upto 1", {}, dropped(QUIET_CONNECTIONS)],
      ["-m connlimit ! --connlimit-above 0", {}, delivered(QUIET_CONNECTIONS)],
      ["-m connlimit ! --connlimit-upto 0", {}, dropped(QUIET_CONNECTIONS)],
      ["-m connlimit --connlimit-upto 5", { state: "established" }, dropped(QUIET_CONNECTIONS)],
    ],
    // xt_quota: a packet matches while what is left covers its whole length.
    quota: [
      ["-m quota --quota 40", {}, dropped(QUIET_QUOTA)],
      ["-m quota --quota 39", {}, delivered(QUIET_QUOTA)],
      ["-m quota --quota 18446744073709551615", {}, dropped(QUIET_QUOTA)],
      ["-m quota ! --quota 40", {}, delivered(QUIET_QUOTA)],
      ["-m quota ! --quota 39", {}, dropped(QUIET_QUOTA)],
      ["-m quota --quota 1500", { length: 1500 }, dropped(QUIET_QUOTA)],
      // An empty quota fits no packet, whatever came before and whatever the length.
      ["-m quota --quota 0", {}, delivered()],
      ["-m quota ! --quota 0", { length: undefined }, dropped()],
      ["-m quota --quota 100000", { length: undefined }, "indeterminate"],
    ],
    // xt_statistic: counting a fresh rule's packets from 0, packet --packet is the first to match.
    "statistic nth": [
      ["-m statistic --mode nth --every 1 --packet 0", {}, dropped(QUIET_NTH)],
      ["-m statistic --mode nth --every 2 --packet 0", {}, dropped(QUIET_NTH)],
      ["-m statistic --mode nth --every 2 --packet 1", {}, delivered(QUIET_NTH)],
      ["-m statistic --mode nth --every 3 --packet 0", {}, dropped(QUIET_NTH)],
      ["-m statistic --mode nth --every 3 --packet 2", {}, delivered(QUIET_NTH)],
      ["-m statistic --mode nth ! --every 3 --packet 0", {}, delivered(QUIET_NTH)],
      ["-m statistic --mode nth ! --every 4 --packet 3", {}, dropped(QUIET_NTH)],
    ],
  };
  for (const [ext, cases] of Object.entries(CASES)) {
    it(ext, () => {
      for (const [spec, p, want] of cases) expect(verdict(spec, p), `${spec} ${JSON.stringify(p)}`).toEqual(want);
    });
  }

  it("random statistic stays a chance", () => {
    const outs = outcomes(["-A INPUT -m statistic --mode random --probability 0.25 -j DROP"]);
    expect(outs.map((o) => [o.fate.kind, o.probability])).toEqual(expect.arrayContaining([["dropped", expect.closeTo(0.25, 9)], ["delivered", expect.closeTo(0.75, 9)]]));
    for (const o of outs) expect(o.assumptions).not.toContain(QUIET_NTH);
  });

  it("nth rules of a kube-proxy-style chain send a first packet down the first branch, one outcome", () => {
    const outs = outcomes([
      "-A INPUT -m statistic --mode nth --every 3 --packet 0 -j DROP",
      "-A INPUT -m statistic --mode nth --every 2 --packet 0 -j ACCEPT",
      "-A INPUT -j ACCEPT",
    ]);
    expect(outs).toHaveLength(1);
    expect(outs[0]!.fate).toMatchObject({ kind: "dropped", rule: 1 });
    expect(outs[0]!.probability).toBe(1);
  });

  it("each kind of state is listed once per outcome, however many rules assumed it", () => {
    const lines = [
      ...Array.from({ length: 5 }, (_, i) => `-A INPUT -m recent --rcheck --name l${i} -j DROP`),
      ...Array.from({ length: 5 }, (_, i) => `-A INPUT -m connlimit --connlimit-above ${i + 1} -j DROP`),
      ...Array.from({ length: 5 }, (_, i) => `-A INPUT -m quota ! --quota ${1000 + i} -j DROP`),
      ...Array.from({ length: 5 }, (_, i) => `-A INPUT -m statistic --mode nth --every ${i + 2} --packet 1 -j DROP`),
      ...Array.from({ length: 5 }, () => "-A INPUT -m limit --limit 1/min -j LOG"),
    ];
    const outs = outcomes(lines);
    expect(outs).toHaveLength(1);
    expect(outs[0]!.fate.kind).toBe("delivered");
    expect([...outs[0]!.assumptions].sort()).toEqual([QUIET_CONNECTIONS, QUIET_NODE, QUIET_NTH, QUIET_QUOTA, QUIET_RECENT].sort());
  });

  it("IPv6 alike", () => {
    const outs = outcomes(["-A INPUT -m connlimit --connlimit-upto 1 --connlimit-mask 64 -j DROP"], syn6, "ipv6");
    expect(outs.map((o) => o.fate.kind)).toEqual(["dropped"]);
    expect(outs[0]!.assumptions).toEqual([QUIET_CONNECTIONS]);
  });

  it("a quota read back from a listing does not know its inversion", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m quota ! --quota 100 -j DROP\nCOMMIT\n").value;
    const back = parseListing(listText(rs, { numeric: true }), new DiagnosticSink("t"), { table: "filter" });
    const outs = buildNode({ rulesets: [back], node }).evaluate(syn).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
    expect(outs.flatMap((o) => o.given ?? []).join("\n")).toMatch(/does not show whether --quota is inverted/);
  });
});

/** The rule's save text, its -L and -nL extras, and the save text of the -nL listing read back. */
function printings(spec: string, family: Family = "ipv4") {
  const rs = parseRules(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${spec} -j ACCEPT\nCOMMIT\n`, { family }).value;
  const rule = rs.tables[0]!.chains[0]!.rules.load()[0]!;
  const extras = (numeric: boolean) => listText(rs, { numeric }).split("\n").find((l) => l.startsWith("ACCEPT "))!.replace(/^ACCEPT\s+\S+\s+--\s+\S+\s+\S+\s+/, "");
  const listing = listText(rs, { numeric: true });
  const back = parseListing(listing, new DiagnosticSink("t"), { family, table: "filter" }).tables[0]!.chains[0]!.rules.load()[0]!;
  return { save: ruleSpecText(rule, family), L: extras(false), nL: extras(true), back: ruleSpecText({ ...back, inInterface: undefined, outInterface: undefined }, family) };
}

/** First error for a rule in filter INPUT. */
function firstError(spec: string, family: Family = "ipv4"): string | undefined {
  const r = parseRules(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${spec} -j ACCEPT\nCOMMIT\n`, { family });
  return r.diagnostics.find((d) => d.severity === "error")?.message;
}

describe("connlimit as iptables 1.8.9 has it", () => {
  // spec → save and -L text, both measured with iptables-nft 1.8.9.
  const CASES: Array<[string, string, string, Family?]> = [
    ["--connlimit-above 0", "--connlimit-above 0 --connlimit-mask 32 --connlimit-saddr", "#conn src/32 > 0"],
    ["--connlimit-upto 0", "--connlimit-upto 0 --connlimit-mask 32 --connlimit-saddr", "#conn src/32 <= 0"],
    ["! --connlimit-above 3", "--connlimit-upto 3 --connlimit-mask 32 --connlimit-saddr", "#conn src/32 <= 3"],
    ["! --connlimit-upto 0x5", "--connlimit-above 5 --connlimit-mask 32 --connlimit-saddr", "#conn src/32 > 5"],
    ["--connlimit-above 3 --connlimit-mask 24 --connlimit-daddr", "--connlimit-above 3 --connlimit-mask 24 --connlimit-daddr", "#conn dst/24 > 3"],
    ["--connlimit-above 010", "--connlimit-above 8 --connlimit-mask 32 --connlimit-saddr", "#conn src/32 > 8"],
    ["--connlimit-above +5 --connlimit-mask 0", "--connlimit-above 5 --connlimit-mask 0 --connlimit-saddr", "#conn src/0 > 5"],
    ["--connlimit-above 4294967295 --connlimit-mask 255.255.0.0", "--connlimit-above 4294967295 --connlimit-mask 16 --connlimit-saddr", "#conn src/16 > 4294967295"],
    ["--connlimit-above 3", "--connlimit-above 3 --connlimit-mask 128 --connlimit-saddr", "#conn src/128 > 3", "ipv6"],
    ["--connlimit-upto 3 --connlimit-mask 64 --connlimit-daddr", "--connlimit-upto 3 --connlimit-mask 64 --connlimit-daddr", "#conn dst/64 <= 3", "ipv6"],
  ];
  for (const [spec, save, L, family] of CASES) {
    it(`${family ?? "ipv4"} ${spec}`, () => {
      const p = printings(`-m connlimit ${spec}`, family);
      expect(p.save).toBe(` -m connlimit ${save} -j ACCEPT`);
      expect(p.L).toBe(L);
      expect(p.nL).toBe(L);
      expect(p.back).toBe(p.save);
    });
  }

  it("reads masks the way iptables does", () => {
    // Measured: IPv4 lengths past 32 and masks that are not contiguous print as 32.
    const v4: Array<[string, number | undefined]> = [
      ["0", 0], ["00", 0], ["0x10", 16], ["017", 15], ["24", 24], ["33", 32], ["129", 32], ["1000", 32], ["0x100", 32], ["4294967295", 32],
      ["4294967040", 24], ["0xffffff00", 24], ["255.255.255.254", 31], ["128.0.0.0", 1], ["0.0.0.0", 0], ["255.0.255.0", 32],
      ["254.255.255.255", 32], ["1.2.3", 32], ["255.255", 32],
      ["abc", undefined], ["-1", undefined], ["1e1", undefined], ["08", undefined], ["0x", undefined], ["4294967296", undefined], ["255.255.255.0.0", undefined], ["::", undefined], ["", undefined],
    ];
    for (const [text, want] of v4) expect(connlimitPrefix(text, "ipv4"), text).toBe(want);
    const v6: Array<[string, number | undefined]> = [
      ["0", 0], ["64", 64], ["65", 65], ["0x40", 64], ["0x80", 128], ["0200", 128], ["ffff:ffff::", 32], ["ffff:0:ffff::", 128],
      ["129", undefined], ["0x81", undefined], ["255.255.0.0", undefined], ["", undefined],
    ];
    for (const [text, want] of v6) expect(connlimitPrefix(text, "ipv6"), `v6 ${text}`).toBe(want);
  });

  it("refuses what iptables refuses", () => {
    expect(firstError("-m connlimit --connlimit-mask 24")).toMatch(/must specify "--connlimit-above" or "--connlimit-upto"/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-upto 4")).toMatch(/cannot be used together/);
    expect(firstError("-m connlimit --connlimit-above 4294967296")).toMatch(/bad value for --connlimit-above/);
    expect(firstError("-m connlimit --connlimit-above -1")).toMatch(/bad value for --connlimit-above/);
    expect(firstError("-m connlimit --connlimit-above 08")).toMatch(/bad value for --connlimit-above/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-saddr --connlimit-daddr")).toMatch(/cannot be used together/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-above 4")).toMatch(/more than once/);
    expect(firstError("-m connlimit --connlimit-above 3 ! --connlimit-mask 24")).toMatch(/cannot be negated/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-mask abc")).toMatch(/bad --connlimit-mask/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-mask 129", "ipv6")).toMatch(/bad --connlimit-mask/);
    expect(firstError("-m connlimit --connlimit-above 3 --connlimit-mask 129")).toBeUndefined();
  });
});

describe("quota as iptables 1.8.9 has it", () => {
  const CASES: Array<[string, string, string]> = [
    ["--quota 1000000", "--quota 1000000", "quota: 1000000 bytes"],
    // -L does not show the inversion (measured, nft and legacy).
    ["! --quota 200", "! --quota 200", "quota: 200 bytes"],
    ["--quota 0x10", "--quota 16", "quota: 16 bytes"],
    ["--quota 010", "--quota 8", "quota: 8 bytes"],
    ["--quota +5", "--quota 5", "quota: 5 bytes"],
    ["--quota 18446744073709551615", "--quota 18446744073709551615", "quota: 18446744073709551615 bytes"],
    ["--quota 9007199254740993", "--quota 9007199254740993", "quota: 9007199254740993 bytes"],
  ];
  for (const [spec, save, L] of CASES) {
    it(spec, () => {
      const p = printings(`-m quota ${spec}`);
      expect(p.save).toBe(` -m quota ${save} -j ACCEPT`);
      expect(p.L).toBe(L);
      expect(p.nL).toBe(L);
      expect(p.back).toBe(p.save.replace(" !", ""));
    });
  }

  it("reads 64-bit counts as strtoull does", () => {
    expect(parseUnsigned64("0")).toBe(0n);
    expect(parseUnsigned64("0x")).toBeUndefined();
    expect(parseUnsigned64("08")).toBeUndefined();
    expect(parseUnsigned64("18446744073709551616")).toBeUndefined();
    expect(parseUnsigned64("0xffffffffffffffff")).toBe((1n << 64n) - 1n);
  });

  it("refuses what iptables refuses", () => {
    expect(firstError("-m quota")).toMatch(/"--quota" must be specified/);
    expect(firstError("-m quota --quota -1")).toMatch(/bad --quota/);
    expect(firstError("-m quota --quota 1k")).toMatch(/bad --quota/);
    expect(firstError("-m quota --quota 18446744073709551616")).toMatch(/bad --quota/);
    expect(firstError("-m quota --quota 5 --quota 6")).toMatch(/more than once/);
  });
});
