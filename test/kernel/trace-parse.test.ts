/** Reading `nft monitor trace` output: which lines belong to which injected packet. */
import { describe, expect, it } from "vitest";
import { kernelFate, parseTrace, type KernelStep } from "./harness.js";

const packet = (traceId: string, ipId: number, chain: string) =>
  `trace id ${traceId} ip filter ${chain} packet: iif "veth1" ${chain === "FORWARD" ? 'oif "eth0" ' : ""}ip saddr 10.9.0.2 ip daddr 8.8.8.8 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id ${ipId} ip length 28 icmp type echo-request icmp code net-unreachable icmp id 1 icmp sequence 1 `;

describe("parseTrace", () => {
  it("separates two packets whose skbs got the same trace id", () => {
    const text = [
      packet("6d2ea5a0", 1000, "FORWARD"),
      "trace id 6d2ea5a0 ip filter FORWARD policy accept ",
      packet("6d2ea5a0", 1001, "FORWARD"),
      "trace id 6d2ea5a0 ip filter FORWARD policy accept meta mark 0x00004000 ",
    ].join("\n");
    const t = parseTrace(text, new Map());
    expect(t.get(1000)?.steps).toEqual([{ table: "filter", chain: "FORWARD", rule: "policy", verdict: "ACCEPT" }]);
    expect(t.get(1001)?.steps).toEqual([{ table: "filter", chain: "FORWARD", rule: "policy", verdict: "ACCEPT" }]);
    expect(t.get(1001)?.lastOut).toBe("eth0");
    expect(t.get(1001)?.lastDst).toBe("8.8.8.8");
  });

  it("does not take an ICMP error that carries a sent packet's IP ID for that packet", () => {
    const udp = (traceId: string, chain: string, dst: string) =>
      `trace id ${traceId} ip nat ${chain} packet: iif "cni0" ip saddr 10.244.0.99 ip daddr ${dst} ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 4242 ip length 28 udp sport 10211 udp dport 53 udp length 8 `;
    const text = [
      udp("11110001", "PREROUTING", "10.96.0.12"),
      "trace id 11110001 ip nat PREROUTING policy accept ",
      // The endpoint's port unreachable back to the client, with the same IP ID by chance.
      `trace id 22220002 ip filter FORWARD packet: iif "cni0" oif "cni0" ip saddr 10.244.0.8 ip daddr 10.244.0.99 ip dscp cs6 ip ecn not-ect ip ttl 64 ip id 4242 ip length 56 icmp type destination-unreachable icmp code port-unreachable `,
      "trace id 22220002 ip filter FORWARD policy accept ",
    ].join("\n");
    const t = parseTrace(text, new Map()).get(4242);
    expect(t?.lastDst).toBe("10.96.0.12");
    expect(t?.steps.map((s) => `${s.table} ${s.chain} ${s.verdict}`)).toEqual(["nat PREROUTING ACCEPT"]);
  });

  it("does not take a packet the node sends for the continuation of one that arrived, however alike their IP IDs", () => {
    const text = [
      packet("33330001", 4243, "FORWARD"),
      "trace id 33330001 ip filter FORWARD policy accept ",
      // The node's own ICMP redirect to the sender, an ICMP packet with the same IP ID by chance.
      `trace id 44440002 ip filter OUTPUT packet: oif "veth1" ip saddr 10.9.0.1 ip daddr 10.9.0.2 ip dscp cs6 ip ecn not-ect ip ttl 64 ip id 4243 ip length 56 icmp type redirect icmp code host-redirect `,
      "trace id 44440002 ip filter OUTPUT policy accept ",
    ].join("\n");
    const t = parseTrace(text, new Map()).get(4243);
    expect(t?.steps.map((s) => `${s.chain} ${s.verdict}`)).toEqual(["FORWARD ACCEPT"]);
    expect(t?.lastDst).toBe("8.8.8.8");
  });

  it("joins a packet's path across a new trace id when it keeps its IP ID (looped through lo)", () => {
    const text = [
      packet("aaaa0001", 1002, "OUTPUT"),
      "trace id aaaa0001 ip filter OUTPUT policy accept ",
      packet("bbbb0002", 1002, "INPUT"),
      "trace id bbbb0002 ip filter INPUT policy drop ",
    ].join("\n");
    expect(parseTrace(text, new Map()).get(1002)?.steps.map((s) => `${s.chain} ${s.verdict}`)).toEqual(["OUTPUT ACCEPT", "INPUT DROP"]);
  });

  it("maps rule handles to positions, spells verdicts as the steps do, and skips the TRACE rules", () => {
    const handles = new Map([["filter", new Map([["OUTPUT", new Map([[6, 1], [7, 2]])], ["X", new Map([[9, 1]])]])]]);
    const text = [
      `trace id 74fd09cb ip6 raw OUTPUT packet: oif "lo" ip6 saddr fd00::1 ip6 daddr fd00::2 ip6 hoplimit 64 ip6 flowlabel 1050 ip6 length 9 udp sport 5 udp dport 53 `,
      "trace id 74fd09cb ip6 raw OUTPUT rule counter packets 0 bytes 0 meta nftrace set 1 # handle 3 (verdict continue)",
      `trace id 74fd09cb ip6 filter OUTPUT packet: oif "lo" ip6 saddr fd00::1 ip6 daddr fd00::2 ip6 flowlabel 1050 udp dport 53 `,
      "trace id 74fd09cb ip6 filter OUTPUT rule meta l4proto udp counter packets 0 bytes 0 jump X # handle 6 (verdict jump X)",
      'trace id 74fd09cb ip6 filter X rule meta l4proto udp counter packets 0 bytes 0 comment "# handle 1 (verdict drop)" return # handle 9 (verdict return)',
      // What nft prints for a rule loaded after it cached the ruleset.
      "trace id 74fd09cb ip6 filter OUTPUT unknown rule handle 7 (verdict goto Y)",
    ].join("\n");
    const t = parseTrace(text, handles).get(1050);
    expect(t?.steps.map((s) => `${s.table} ${s.chain} ${s.rule} ${s.verdict}`)).toEqual(["filter OUTPUT 1 JUMP X", "filter X 1 RETURN", "filter OUTPUT 2 GOTO Y"]);
  });
});

describe("kernelFate", () => {
  const trace = (hooks: string[], lastOut?: string, steps: KernelStep[] = []) => ({ id: 1, steps, hooks, ...(lastOut ? { lastOut } : {}) });
  it("reads delivered, out of an interface, and a packet that looped through lo and stopped", () => {
    expect(kernelFate(trace(["output", "postrouting", "input"], "lo"))).toEqual({ kind: "delivered" });
    expect(kernelFate(trace(["forward", "postrouting"], "cni0"))).toEqual({ kind: "out", iface: "cni0" });
    expect(kernelFate(trace(["output", "postrouting"], "lo"))).toEqual({ kind: "stopped", by: "routing" });
    expect(kernelFate(trace([]))).toEqual({ kind: "stopped", by: "routing" });
  });
  it("tells a packet a rule dropped from one the route lookup refused after PREROUTING", () => {
    const accepted: KernelStep = { table: "mangle", chain: "PREROUTING", rule: "policy", verdict: "ACCEPT" };
    const dropped: KernelStep = { table: "raw", chain: "PREROUTING", rule: 1, verdict: "DROP" };
    expect(kernelFate(trace([], undefined, [accepted]))).toEqual({ kind: "stopped", by: "routing" });
    expect(kernelFate(trace([], undefined, [dropped]))).toEqual({ kind: "stopped", by: "rule" });
  });
});
