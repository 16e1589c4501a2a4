/**
 * Rules of the other family in an inet table (firewalld's `icmpv6 type ... accept` for an IPv4
 * packet): nft has each test the family first, so they never match it. why-dropped does not
 * offer them as rules that nearly let the packet through; the verbose trace still shows them
 * tried, with the family they ask for on the step.
 */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import { parseNftText } from "../../src/nft/index.js";
import { whyDroppedText } from "../../src/explain/text.js";
import { PLAIN } from "../../src/explain/colour.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { emptyFacts } from "../../src/facts/model.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";

const V4: PacketSpec = { family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2 };
const V6: PacketSpec = { family: "ipv6", from: "eth0", src: "2001:db8::5", dst: "2001:db8::1", proto: 6, sport: 40000, dport: 22, tcpFlags: 2 };

/** The node's addresses: the packets above arrive for them (locally sent ones leave from them). */
const ADDR4 = { address: "192.168.0.11", prefixLength: 24, family: "ipv4" } as const;
const ADDR6 = { address: "2001:db8::1", prefixLength: 64, family: "ipv6" } as const;

/** A node whose one table is `table inet t` with a chain (policy drop) of these rules, at prerouting unless said. */
function nodeOf(rules: string[], hook = "prerouting") {
  const text = `table inet t {\n\tchain pre {\n\t\ttype filter hook ${hook} priority filter; policy drop;\n${rules.map((r) => `\t\t${r}\n`).join("")}\t}\n}\n`;
  const r = parseNftText(text, "rules.nft");
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return buildNode({ rulesets: [], nft: [r.ruleset], node: nodeViewFromFacts({ ...emptyFacts(), interfaces: [{ name: "eth0", addrs: [ADDR4, ADDR6] }] }) });
}

/** The rules why-dropped lists under "nearly let through by:". */
function nearly(rules: string[], packet: PacketSpec, hook?: string): string[] {
  const text = whyDroppedText(nodeOf(rules, hook).evaluate(packet, { verbose: true }), { palette: PLAIN });
  const lines = text.split("\n");
  const at = lines.indexOf("  nearly let through by:");
  if (at < 0) return [];
  return lines.slice(at + 1).filter((l) => /^ {4}\S/.test(l)).map((l) => l.trim());
}

/** What each tried rule's step says of the family it asks for. */
function requires(rules: string[], packet: PacketSpec): Record<string, string | undefined> {
  const [o] = nodeOf(rules).evaluate(packet, { verbose: true }).outcomes;
  return Object.fromEntries(o!.steps.filter((s) => s.rule !== "policy").map((s) => [s.nft!.text!, s.nft!.requires]));
}

describe("near misses of the other family in an inet table", () => {
  it("an icmpv6 rule is no near miss for an IPv4 packet", () => {
    const rules = ["icmpv6 type nd-neighbor-solicit accept", "tcp dport 80 accept"];
    expect(nearly(rules, V4)).toEqual(["tcp dport 80 accept"]);
  });

  it("an ip6 saddr rule is no near miss for an IPv4 packet", () => {
    const rules = ["ip6 saddr fe80::/64 tcp dport 22 accept", "tcp dport 80 accept"];
    expect(nearly(rules, V4)).toEqual(["tcp dport 80 accept"]);
  });

  it("an explicit meta nfproto ipv6 (or l4proto ipv6-icmp) is no near miss for an IPv4 packet", () => {
    const rules = ["meta nfproto ipv6 tcp dport 22 accept", "meta l4proto ipv6-icmp accept", "tcp dport 80 accept"];
    expect(nearly(rules, V4)).toEqual(["tcp dport 80 accept"]);
  });

  it("rules with no family constraint, or the packet's own, stay listed", () => {
    const rules = ["tcp dport 80 accept", "ip saddr 10.0.0.0/8 accept", "meta nfproto ipv4 tcp dport 443 accept", "meta nfproto != ipv6 tcp dport 8080 accept"];
    expect(nearly(rules, V4)).toEqual(rules);
  });

  it("an ip-family rule (ip saddr, icmp type) is no near miss for an IPv6 packet; an ip6 one is", () => {
    const rules = ["ip saddr 10.0.0.0/8 accept", "icmp type echo-request accept", "ip6 saddr fd00::/8 accept"];
    expect(nearly(rules, V6)).toEqual(["ip6 saddr fd00::/8 accept"]);
  });

  it("a family asked for inside a concatenation, a binary operation or a verdict map's key counts", () => {
    const rules = [
      "ip6 saddr . tcp dport { 2001:db8::1 . 22 } accept",
      "ip6 daddr & ::ffff == ::1 accept",
      "ip6 saddr vmap { 2001:db8::9 : accept }",
      "tcp dport 80 accept",
    ];
    expect(nearly(rules, V4)).toEqual(["tcp dport 80 accept"]);
  });

  it("a connection's address of the other family stops the rule (nft_ct_get_eval checks it), and is no near miss", () => {
    const rules = ["ct original ip6 saddr != 2001:db8::1 accept", "ct l3proto ipv6 accept", "tcp dport 80 accept"];
    const [o] = nodeOf(rules).evaluate(V4).outcomes;
    expect(o!.fate.kind).toBe("dropped");
    expect(nearly(rules, V4)).toEqual(["tcp dport 80 accept"]);
    const own = ["ct original ip saddr 10.0.0.1 accept", "ct l3proto ipv4 tcp dport 443 accept"];
    expect(nearly(own, V4)).toEqual(own);
  });

  it("an IPv6 extension header or an IPv4 option stops the rule for the other family, where it was unknown", () => {
    const v4 = nodeOf(["exthdr frag exists accept", "frag more-fragments 1 accept", "tcp dport 80 accept"]).evaluate(V4, { verbose: true });
    expect(v4.outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    expect(nearly(["exthdr frag exists accept", "tcp dport 80 accept"], V4)).toEqual(["tcp dport 80 accept"]);
    const v6 = nodeOf(["ip option ra exists accept", "tcp dport 80 accept"]).evaluate(V6);
    expect(v6.outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    // For its own family it is still not evaluated: both ways stay open.
    expect(nodeOf(["exthdr frag exists accept"]).evaluate(V6).outcomes.length).toBe(2);
  });

  it("rt ip nexthop and rt ip6 nexthop stop the rule for the other family (nft_rt_get_eval checks it), and are no near miss", () => {
    // The kernel takes nexthop keys at forward, output and postrouting only (nft_rt_validate).
    const out4: PacketSpec = { ...V4, from: "local", src: "192.168.0.11", dst: "192.168.0.50" };
    const out6: PacketSpec = { ...V6, from: "local", src: "2001:db8::1", dst: "2001:db8::5" };
    expect(nearly(["rt ip6 nexthop fe80::1 accept", "tcp dport 80 accept"], out4, "output")).toEqual(["tcp dport 80 accept"]);
    expect(nearly(["rt ip nexthop 10.0.0.1 accept", "tcp dport 80 accept"], out6, "output")).toEqual(["tcp dport 80 accept"]);
    expect(nodeOf(["rt ip6 nexthop fe80::1 accept"], "output").evaluate(out4).outcomes.map((o) => o.fate.kind)).toEqual(["dropped"]);
    // Its own family's next hop is still not evaluated: both ways stay open; other rt keys ask for no family.
    expect(nodeOf(["rt ip6 nexthop fe80::1 accept"], "output").evaluate(out6).outcomes.length).toBe(2);
    const [o] = nodeOf(["rt ip nexthop 10.0.0.1 accept", "rt mtu 1400 accept"], "output").evaluate(out6, { verbose: true }).outcomes;
    expect(o!.steps.filter((s) => s.rule !== "policy").map((s) => [s.nft!.text, s.nft!.requires])).toEqual([["rt ip nexthop 10.0.0.1 accept", "ipv4"], ["rt mtu 1400 accept", undefined]]);
  });

  it("the verbose trace keeps every rule tried, each step saying the family its rule asks for", () => {
    const rules = ["icmpv6 type nd-neighbor-solicit accept", "meta nfproto ipv4 tcp dport 443 accept", "tcp dport 80 accept", "ip saddr 10.0.0.1 ip6 daddr ::1 accept"];
    expect(requires(rules, V4)).toEqual({
      "icmpv6 type nd-neighbor-solicit accept": "ipv6",
      "meta nfproto ipv4 tcp dport 443 accept": "ipv4",
      "tcp dport 80 accept": undefined,
      // Both: it matches no packet at all.
      "ip saddr 10.0.0.1 ip6 daddr ::1 accept": "none",
    });
  });
});
