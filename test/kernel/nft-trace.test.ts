/**
 * Reading `nft -a monitor trace` output, on text captured from the kernel (nftables 1.0.6,
 * Linux 6.18): fixtures/nft-monitor-trace.txt with the ruleset and packets that
 * fixtures/nft-trace-ruleset.nft describes. Needs no root: the text is replayed.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { numgenBranch, parseNftTrace, parseTraceLine } from "./nft-trace.js";
import { batchesOf, compareWithNetfate, conntrackRewrites, fateOf, parseConntrack, readListing, type NftPacketCase } from "./nft-harness.js";
import type { PacketSpec } from "../../src/model/packet.js";

const fixture = (name: string) => readFileSync(resolve(import.meta.dirname, "fixtures", name), "utf8");
const TEXT = fixture("nft-monitor-trace.txt");
const traces = parseNftTrace(TEXT);
const path = (id: number) => traces.get(id)!.steps.filter((s) => s.table !== "netfate_trace").map((s) => `${s.family} ${s.table} ${s.chain} ${s.handle ?? s.kind} ${s.verdict}`);

describe("parseTraceLine", () => {
  it("reads rule, policy, unknown-rule and packet lines", () => {
    expect(parseTraceLine("trace id 9886e402 inet t1 pre rule ip daddr . tcp dport vmap @vm # handle 13 (verdict jump web)")).toEqual({
      traceId: "9886e402",
      type: "step",
      step: { family: "inet", table: "t1", chain: "pre", kind: "rule", handle: 13, verdict: "jump web", rule: "ip daddr . tcp dport vmap @vm" },
    });
    expect(parseTraceLine("trace id 9886e402 inet t1 pre policy accept meta mark 0x00000004 ")).toEqual({
      traceId: "9886e402",
      type: "step",
      step: { family: "inet", table: "t1", chain: "pre", kind: "policy", verdict: "accept" },
    });
    expect(parseTraceLine("trace id c5caa0be inet t1 b unknown rule handle 20 (verdict goto c)")?.type).toBe("step");
    expect(parseTraceLine("trace id c5caa0be inet t1 b unknown rule handle 20 (verdict goto c)")).toMatchObject({ step: { handle: 20, verdict: "goto c", kind: "rule" } });
    const p = parseTraceLine(
      'trace id fc426a43 inet t1 filt_fw packet: iif "veth0" oif "veth1" ether saddr 1e:bb:93:3f:24:90 ether daddr 9e:d3:95:c0:a4:09 ip saddr 10.0.1.2 ip daddr 10.0.2.2 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 1002 ip protocol tcp ip length 40 tcp sport 40002 tcp dport 80 tcp flags == syn tcp window 64240 ',
    );
    expect(p).toEqual({
      traceId: "fc426a43",
      type: "packet",
      view: { family: "inet", table: "t1", chain: "filt_fw", iif: "veth0", oif: "veth1", saddr: "10.0.1.2", daddr: "10.0.2.2", l4: "tcp", sport: 40002, dport: 80, ipId: 1002 },
    });
    expect(parseTraceLine("Error: something")).toBeUndefined();
    // Without -a: no handle.
    expect(parseTraceLine("trace id e33692b1 ip aaa c2 rule counter packets 0 bytes 0 (verdict continue)")).toEqual({
      traceId: "e33692b1",
      type: "step",
      step: { family: "ip", table: "aaa", chain: "c2", kind: "rule", verdict: "continue", rule: "counter packets 0 bytes 0" },
    });
  });

  it("keeps a rule's text when its comment holds `# handle`", () => {
    const e = parseTraceLine('trace id 1 ip t c rule counter comment "# handle 1 (verdict drop)" return # handle 9 (verdict return)');
    expect(e).toMatchObject({ step: { handle: 9, verdict: "return", rule: 'counter comment "# handle 1 (verdict drop)" return' } });
  });
});

describe("parseNftTrace on captured output", () => {
  it("follows a forwarded packet through a named vmap, a return, numgen's branch, a goto, and iptables-nft's chain at the same priority", () => {
    expect(path(1001)).toEqual([
      "inet t1 pre 12 continue",
      "inet t1 pre 13 jump web",
      "inet t1 web 16 continue",
      "inet t1 web 17 return",
      "inet t1 pre 15 jump b",
      "inet t1 b 19 continue",
      "inet t1 b 20 goto c",
      "inet t1 c 21 continue",
      "inet t1 pre policy accept",
      "inet t1 nat_pre policy accept",
      // iptables-nft's filter FORWARD (priority 0, loaded after t1) ran before t1's filt_fw (also 0).
      "ip filter FORWARD policy accept",
      "inet t1 filt_fw 23 accept",
      "ip netfate_probe forward policy accept",
      "inet t1 nat_post 26 accept",
      "ip netfate_probe postrouting policy accept",
    ]);
  });

  it("shows DNAT in the next base chain's headers and masquerade in the probe's", () => {
    const t = traces.get(1002)!;
    expect(t.views[0]).toMatchObject({ daddr: "10.0.1.1", dport: 8080, saddr: "10.0.1.2" });
    expect(t.views.at(-1)).toMatchObject({ table: "netfate_probe", chain: "postrouting", daddr: "10.0.2.2", dport: 80, saddr: "10.0.2.1", oif: "veth1" });
  });

  it("leaves out the reject's ICMP error and the echo reply, which carry IP IDs of their own", () => {
    expect(path(1003).at(-1)).toBe("inet t1 filt_fw 24 drop");
    expect(traces.get(1003)!.steps.at(-1)!.rule).toBe("ip daddr . udp dport @svc reject with icmp port-unreachable");
    expect(path(1004).at(-1)).toBe("ip netfate_probe input policy accept");
  });

  it("reads the node's own packet (output, then postrouting) and a drop in an iptables-nft user chain", () => {
    expect(path(1005)).toEqual(["ip filter OUTPUT 7 accept", "ip netfate_probe output policy accept", "inet t1 nat_post 26 accept", "ip netfate_probe postrouting policy accept"]);
    expect(path(1006).slice(-2)).toEqual(["ip filter INPUT 5 jump NF-CHK", "ip filter NF-CHK 6 drop"]);
  });

  it("leaves out a packet the node sends (no iif) whose IP ID equals that of a packet that arrived", () => {
    const t = parseNftTrace([
      'trace id aaaa0001 inet t1 filt_fw packet: iif "veth0" oif "veth0" ip saddr 10.0.1.2 ip daddr 8.8.8.8 ip id 4321 ip length 84 icmp type echo-request icmp code 0 ',
      "trace id aaaa0001 inet t1 filt_fw policy accept ",
      'trace id bbbb0002 ip filter OUTPUT packet: oif "veth0" ip saddr 10.0.1.1 ip daddr 10.0.1.2 ip id 4321 ip length 112 icmp type redirect icmp code host-redirect ',
      "trace id bbbb0002 ip filter OUTPUT policy accept ",
    ].join("\n")).get(4321)!;
    expect(t.steps.map((s) => `${s.table} ${s.chain} ${s.verdict}`)).toEqual(["t1 filt_fw accept"]);
    expect(t.traceIds).toEqual(["aaaa0001"]);
  });

  it("reads `unknown rule` lines (rules loaded after the monitor started) by handle alone", () => {
    const t = parseNftTrace(fixture("nft-monitor-trace-unknown.txt")).get(1101)!;
    expect(t.steps.filter((s) => s.table === "t1").map((s) => `${s.chain} ${s.handle ?? "policy"} ${s.verdict} ${s.rule ?? "-"}`)).toEqual([
      "pre 12 continue -",
      "pre 15 jump b -",
      "b 19 continue -",
      "b 20 goto c -",
      "c 21 continue -",
      "pre policy accept -",
      "nat_pre 25 accept -",
      "filt_fw 23 accept -",
      "nat_post 26 accept -",
    ]);
  });
});

describe("numgenBranch", () => {
  it("names the vmap key whose verdict the kernel gave", () => {
    const rule = "numgen random mod 2 vmap { 0 : jump a, 1 : jump b }";
    expect(numgenBranch({ rule, verdict: "jump b" })).toEqual(["1"]);
    expect(numgenBranch({ rule, verdict: "jump a" })).toEqual(["0"]);
    expect(numgenBranch({ rule: "numgen inc mod 3 vmap { 0 : accept, 1-2 : drop }", verdict: "drop" })).toEqual(["1-2"]);
    expect(numgenBranch({ rule: "ip daddr vmap { 10.0.2.5 : accept }", verdict: "accept" })).toBeUndefined();
  });
  it("names a DNAT map's key by the address the packet left with", () => {
    const rule = "tcp dport 80 dnat to numgen inc mod 2 map { 0 : 10.0.2.5, 1 : 10.0.2.2 }";
    expect(numgenBranch({ rule, verdict: "accept" }, "10.0.2.2")).toEqual(["1"]);
    expect(numgenBranch({ rule, verdict: "accept" })).toBeUndefined();
  });
});

describe("the harness's readers", () => {
  const listing = readListing(fixture("nft-trace-listing.txt"));
  const packet = (from: string): PacketSpec => ({ family: "ipv4", from, dst: "10.0.1.1", proto: 6 });
  const kernelPath = (id: number) =>
    traces.get(id)!.steps
      .filter((s) => s.table !== "netfate_trace" && s.table !== "netfate_probe")
      .map((s) => ({ family: s.family, table: s.table, chain: s.chain, ...(s.handle !== undefined ? { handle: s.handle } : {}), verdict: s.verdict, ...(s.rule ? { rule: s.rule } : {}) }));

  it("reads the listing's chains and rule texts by handle", () => {
    expect([...listing.chains.get("inet t1")!]).toEqual(["pre", "web", "a", "b", "c", "filt_fw", "nat_pre", "nat_post"]);
    expect(listing.rules.get("inet t1")!.get(24)).toEqual({ chain: "filt_fw", text: "ip daddr . udp dport @svc reject with icmp port-unreachable" });
    expect(listing.rules.get("ip filter")!.get(6)?.chain).toBe("NF-CHK");
  });

  it("names each fate: forwarded, rejected, delivered, sent, dropped by an iptables-nft rule", () => {
    expect(fateOf(traces.get(1001)!, kernelPath(1001), "veth0")).toEqual({ kind: "forwarded", iface: "veth1" });
    expect(fateOf(traces.get(1003)!, kernelPath(1003), "veth0")).toEqual({ kind: "rejected", family: "inet", table: "t1", chain: "filt_fw", handle: 24 });
    expect(fateOf(traces.get(1004)!, kernelPath(1004), "veth0")).toEqual({ kind: "delivered" });
    expect(fateOf(traces.get(1005)!, kernelPath(1005), "local")).toEqual({ kind: "sent", iface: "veth1" });
    expect(fateOf(traces.get(1006)!, kernelPath(1006), "veth0")).toEqual({ kind: "dropped", family: "ip", table: "filter", chain: "NF-CHK", handle: 6 });
  });

  it("reads conntrack's tuples and the rewrites they hold", () => {
    const [tcp, icmp] = parseConntrack(
      [
        "tcp      6 119 SYN_SENT src=10.0.1.2 dst=10.0.1.1 sport=40002 dport=8080 [UNREPLIED] src=10.0.2.2 dst=10.0.2.1 sport=80 dport=40002 mark=4 use=1",
        "icmp     1 29 src=10.0.1.2 dst=10.0.1.1 type=8 code=0 id=1004 src=10.0.1.1 dst=10.0.1.2 type=0 code=0 id=1004 mark=0 use=1",
      ].join("\n"),
    );
    expect(conntrackRewrites(tcp!)).toEqual({ dnat: { addr: "10.0.2.2", port: 80 }, snat: { addr: "10.0.2.1", port: 40002 } });
    expect(icmp!.orig).toEqual({ src: "10.0.1.2", dst: "10.0.1.1", id: 1004 });
    expect(conntrackRewrites(icmp!)).toEqual({});
  });

  it("never puts two packets of one connection (either direction) in one batch", () => {
    const p = (src: string, sport: number, dst: string, dport: number): PacketSpec => ({ family: "ipv4", from: "veth0", src, sport, dst, dport, proto: 6 });
    expect(batchesOf([p("10.0.1.2", 1, "10.0.2.2", 80), p("10.0.1.2", 1, "10.0.2.2", 80), p("10.0.2.2", 80, "10.0.1.2", 1), p("10.0.1.2", 2, "10.0.2.2", 80)])).toEqual([[0, 3], [1], [2]]);
  });

  it("never puts two packets of one protocol and source port in one batch: a NAT to one address would give them one tuple", () => {
    const p = (src: string | undefined, sport: number, dst: string, proto = 17): PacketSpec => ({ family: "ipv4", from: src ? "veth1" : "local", ...(src ? { src } : {}), sport, dst, dport: 443, proto });
    // Seed 7770092: both SNATed to 10.0.2.1:40000 → 10.0.2.6:443; the kernel gave the second port 19738.
    expect(batchesOf([p(undefined, 40000, "10.0.2.6"), p("203.0.113.9", 40000, "10.0.2.6"), p("203.0.113.9", 40001, "10.0.2.6"), p("203.0.113.9", 40000, "10.0.2.6", 6)])).toEqual([[0, 2, 3], [1]]);
  });

  it("says in words where netfate parts from the kernel", () => {
    const pc: NftPacketCase = {
      case: { seed: 0, tables: [], ruleset: "", packets: [] },
      packet: packet("veth0"),
      kernel: { packet: packet("veth0"), fate: { kind: "rejected", family: "inet", table: "t1", chain: "filt_fw", handle: 24 }, path: kernelPath(1003), numgen: [] },
    };
    const agreeing = { fate: { kind: "rejected", family: "inet", table: "t1", chain: "filt_fw", handle: 24 }, path: kernelPath(1003).map(({ family, table, chain, handle }) => ({ family, table, chain, ...(handle !== undefined ? { handle } : {}) })) };
    expect(compareWithNetfate(pc, agreeing)).toEqual([]);
    const other = { fate: { kind: "forwarded", iface: "veth1" }, path: agreeing.path.slice(0, 4), dnat: { addr: "10.0.2.5" } };
    const words = compareWithNetfate(pc, other);
    expect(words).toHaveLength(3);
    expect(words[0]).toBe("fate: the kernel rejected in inet t1 filt_fw by handle 24, netfate forwarded out of veth1");
    expect(words[1]).toBe("path parts at step 5: the kernel inet t1 nat_pre policy (verdict accept), netfate ends there");
    expect(words[2]).toBe("dnat: the kernel none, netfate 10.0.2.5");
    // Several outcomes (numgen's branches): one agreeing is enough.
    expect(compareWithNetfate(pc, [other, agreeing])).toEqual([]);
  });
});
