import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import {
  accept, base, binop, chain, concat, cont, counter, ct, ctState, drop, el, goto, ifname, ip4, jump, k, mapOf, mark, match, meta, namedSet,
  pl, port, prefix, proto, range, ref, ret, rule, ruleH, ruleset, set, setCtMark, setMark, table, vmap, vmapLit,
} from "../support/nft-build.js";
import type { NftChain, NftSet } from "../../src/model/nft.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});

const tcp = (over: Partial<PacketSpec> = {}): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2, ...over });

/** A node whose only rules are one `inet filter` table with these chains (and sets). */
function nodeOf(chains: NftChain[], sets: NftSet[] = []) {
  return buildNode({ rulesets: [], nft: [ruleset(table("inet", "filter", chains, sets))], node });
}

const input = (rules: ReturnType<typeof rule>[], policy?: "accept" | "drop") => chain("input", rules, base("filter", "input", 0, policy));
const path = (o: Outcome) => o.steps.map((s) => `${s.chain} ${s.rule} ${s.verdict}`);

describe("nft verdicts and chain walking", () => {
  it("drop is final, with the nft place on the fate and step", () => {
    const n = nodeOf([input([ruleH(7, match(pl("tcp", "dport"), port(22)), drop)])]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.fate).toEqual({ kind: "dropped", table: "nft", chain: "input", rule: 1, hook: "INPUT", nft: { family: "inet", table: "filter", handle: 7 } });
    expect(o!.steps[0]!.nft).toMatchObject({ family: "inet", table: "filter", priority: 0, handle: 7, text: "tcp dport 22 drop" });
  });

  it("the policy applies at the end of a base chain; a regular chain's end returns", () => {
    const n = nodeOf([
      input([rule(jump("svc")), rule(match(pl("tcp", "dport"), port(80)), accept)], "drop"),
      chain("svc", [rule(match(pl("ip", "saddr"), prefix(ip4("10.0.0.0"), 8)), accept)]),
    ]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(path(o!)).toEqual(["input 1 JUMP svc", "input policy DROP"]);
    expect(n.evaluate(tcp({ src: "10.1.2.3" })).outcomes[0]!.fate.kind).toBe("delivered");
  });

  it("goto does not come back; return goes back to the caller; continue goes on", () => {
    const n = nodeOf([
      input([rule(goto("a")), rule(accept)], "drop"),
      chain("a", [rule(cont), rule(jump("b")), rule(match(pl("tcp", "dport"), port(22)), drop)]),
      chain("b", [rule(ret), rule(accept)]),
    ]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(path(o!)).toEqual(["input 1 GOTO a", "a 1 CONTINUE", "a 2 JUMP b", "b 1 RETURN", "a 3 DROP"]);
    // Off the end of a chain reached by goto: the base chain's policy.
    const [p] = n.evaluate(tcp({ dport: 80 })).outcomes;
    expect(path(p!)).toEqual(["input 1 GOTO a", "a 1 CONTINUE", "a 2 JUMP b", "b 1 RETURN", "input policy DROP"]);
  });

  it("a jump to a chain the table lacks is a located problem and indeterminate", () => {
    const n = nodeOf([input([rule(jump("nowhere"))])]);
    const ev = n.evaluate(tcp());
    expect(ev.nftProblems?.[0]).toMatchObject({ chain: "input", rule: 1 });
    expect(ev.nftProblems?.[0]!.message).toContain("nowhere");
    expect(ev.outcomes[0]!.fate.kind).toBe("indeterminate");
  });

  it("verbose mode records tried rules with the first failing statement", () => {
    const n = nodeOf([input([rule(match(meta("iifname"), ifname("lo")), accept), rule(match(pl("tcp", "dport"), set(port(80), port(443))), accept)])]);
    const [o] = n.evaluate(tcp(), { verbose: true }).outcomes;
    expect(o!.steps.filter((s) => !s.matched).map((s) => `${s.rule} ${s.failed}`)).toEqual(["1 iifname \"lo\"", "2 tcp dport { 80, 443 }"]);
  });
});

describe("nft verdict maps", () => {
  it("a vmap hit takes the element's verdict and names the element", () => {
    const n = nodeOf([
      input([rule(vmap(concat(pl("ip", "daddr"), meta("l4proto"), pl("th", "dport")), ref("svc")))], "drop"),
      chain("svc-a", [rule(accept)]),
    ], [namedSet("svc", ["ipv4_addr", "inet_proto", "inet_service"], [el(concat(ip4("192.168.0.11"), proto(6, "tcp"), port(22)), goto("svc-a"))], "map")]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.fate.kind).toBe("delivered");
    expect(o!.steps[0]!.nft?.element).toBe("192.168.0.11 . tcp . 22 : goto svc-a");
  });

  it("a vmap miss stops the rule, its later statements unrun, and the walk goes on (checked in a netns)", () => {
    const n = nodeOf([input([rule(vmap(pl("tcp", "dport"), vmapLit([port(1), drop])), setMark(mark(5))), rule(match(meta("mark"), mark(0)), drop)])]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.fate).toMatchObject({ kind: "dropped", rule: 2 });
  });
});

describe("nft matching", () => {
  it("interval and prefix sets, and concatenations with a range in a part", () => {
    const n = nodeOf([input([
      rule(match(pl("ip", "saddr"), ref("blocked")), drop),
      rule(match(concat(pl("ip", "saddr"), pl("tcp", "dport")), ref("allowed")), accept),
    ], "drop")], [
      namedSet("blocked", ["ipv4_addr"], [el(prefix(ip4("10.0.0.0"), 8)), el(range(ip4("172.16.0.5"), ip4("172.16.0.9"))), el(ip4("1.2.3.4"))], "set", ["interval"]),
      namedSet("allowed", ["ipv4_addr", "inet_service"], [el(concat(prefix(ip4("192.168.0.0"), 24), range(port(20), port(25))))], "set", ["interval"]),
    ]);
    expect(n.evaluate(tcp({ src: "10.200.0.1" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: 1 });
    expect(n.evaluate(tcp({ src: "172.16.0.7" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: 1 });
    expect(n.evaluate(tcp({ src: "172.16.0.10" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: "policy" });
    expect(n.evaluate(tcp({ src: "192.168.0.9", dport: 21 })).outcomes[0]!.fate.kind).toBe("delivered");
    expect(n.evaluate(tcp({ src: "192.168.0.9", dport: 26 })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: "policy" });
  });

  it("a big interval set is looked up, not scanned (100,000 ranges of a concatenation's part)", () => {
    const a = (i: number) => ip4(`10.${(i >> 14) & 255}.${(i >> 6) & 255}.${(i & 63) * 4}`);
    const elements = Array.from({ length: 100_000 }, (_, i) => el(concat(range(a(i), { ...a(i), value: String(a(i).value).replace(/\d+$/, (d: string) => String(Number(d) + 1)) }), port(22))));
    const n = nodeOf([input([rule(match(concat(pl("ip", "saddr"), pl("tcp", "dport")), ref("big")), drop)])], [namedSet("big", ["ipv4_addr", "inet_service"], elements, "set", ["interval"])]);
    expect(n.evaluate(tcp({ src: "10.3.7.129" })).outcomes[0]!.fate.kind).toBe("dropped");
    expect(n.evaluate(tcp({ src: "10.3.7.130" })).outcomes[0]!.fate.kind).toBe("delivered");
    expect(n.evaluate(tcp({ src: "10.3.7.129", dport: 23 })).outcomes[0]!.fate.kind).toBe("delivered");
  });

  it("ct state established,related matches any of the bits; != matches none", () => {
    const n = nodeOf([input([rule(match(ct("state"), ctState("established", "related")), accept), rule(match(ct("state"), ctState("new"), "!="), drop)], "drop")]);
    expect(n.evaluate(tcp({ state: "established", tcpFlags: 0x10 })).outcomes[0]!.fate.kind).toBe("delivered");
    expect(n.evaluate(tcp({ state: "related" })).outcomes[0]!.fate.kind).toBe("delivered");
    expect(n.evaluate(tcp({ state: "invalid" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: 2 });
    expect(n.evaluate(tcp({ state: "new" })).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: "policy" });
  });

  it("a chain below conntrack (-200) sees ct state invalid, and no ct mark (checked in a netns)", () => {
    const early = chain("early", [
      rule(match(ct("state"), ctState("invalid")), setMark(mark(1))),
      rule(match(ct("mark"), mark(0)), setMark(mark(2))),
    ], base("filter", "prerouting", -250));
    const late = chain("late", [rule(match(ct("state"), ctState("new")), setCtMark(mark(3)))], base("filter", "prerouting", -150));
    const n = nodeOf([early, late]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.final.mark).toBe("0x1");
    expect(o!.final.ctmark).toBe("0x3");
  });

  it("tcp ports of a UDP packet are absent: the rule does not match", () => {
    const n = nodeOf([input([rule(match(pl("tcp", "dport"), port(53)), drop)])]);
    expect(n.evaluate(tcp({ proto: 17, dport: 53 })).outcomes[0]!.fate.kind).toBe("delivered");
  });

  it("interface names with a wildcard, comparisons, and binops", () => {
    const n = nodeOf([input([
      rule(match(meta("iifname"), ifname("eth*")), setMark(binop("|", meta("mark"), mark(0x100)))),
      rule(match(binop("&", meta("mark"), mark(0xff00)), mark(0x100)), match(pl("tcp", "dport"), port(1024), "<"), drop),
    ])]);
    expect(n.evaluate(tcp()).outcomes[0]!.fate).toMatchObject({ kind: "dropped", rule: 2 });
    expect(n.evaluate(tcp({ dport: 8080 })).outcomes[0]!.final.mark).toBe("0x100");
    expect(n.evaluate(tcp({ from: "cni0", src: "10.244.0.5" })).outcomes[0]!.final.mark).toBe("0x0");
  });

  it("meta mark set ct mark, and ct mark set from a map", () => {
    const n = nodeOf([input([
      rule(setCtMark(mapOf(pl("tcp", "dport"), { kind: "set", elements: [el(port(22), mark(0x22))] }))),
      rule(setMark(ct("mark"))),
    ])]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.final.ctmark).toBe("0x22");
    expect(o!.final.mark).toBe("0x22");
  });

  it("set add in one rule is seen by a lookup later in the same traversal", () => {
    const n = nodeOf([input([
      rule(match(pl("ip", "saddr"), ref("seen")), drop),
      rule({ kind: "setop", op: "add", set: "seen", key: pl("ip", "saddr") }),
      rule(match(pl("ip", "saddr"), ref("seen")), setMark(mark(9))),
    ])], [namedSet("seen", ["ipv4_addr"], [], "set", ["dynamic"])]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.fate.kind).toBe("delivered");
    expect(o!.final.mark).toBe("0x9");
  });

  it("an unknown expression forks into alternatives, each said", () => {
    const n = nodeOf([input([rule(match({ kind: "other", name: "socket", text: "socket transparent" }, k("integer", 1)), drop)])]);
    const outs = n.evaluate(tcp()).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
    for (const o of outs) expect(o.given?.[0]).toMatch(/socket transparent/);
  });

  it("counter and log: the kernel's LOG line", () => {
    const n = nodeOf([input([rule(counter, { kind: "log", prefix: "nft in: " }, accept)])]);
    const [o] = n.evaluate(tcp()).outcomes;
    expect(o!.steps[0]!.log).toBe("nft in: IN=eth0 OUT= SRC=192.168.0.50 DST=192.168.0.11 PROTO=TCP SPT=40000 DPT=22 SYN");
  });

  it("reject ends the packet with the nft reject type", () => {
    const n = nodeOf([input([rule(match(pl("tcp", "dport"), port(22)), { kind: "reject", type: "tcp reset" })])]);
    expect(n.evaluate(tcp()).outcomes[0]!.fate).toMatchObject({ kind: "rejected", table: "nft", with: "tcp reset" });
  });
});

describe("nft tables and families", () => {
  it("ip tables see IPv4 only, ip6 IPv6 only; bridge and netdev are not evaluated and say so", () => {
    const dropAll = (fam: "ip" | "ip6" | "bridge") => table(fam, "t", [chain("input", [rule(drop)], base("filter", "input", 0))]);
    const n = buildNode({ rulesets: [], nft: [ruleset(dropAll("ip6"), dropAll("bridge"))], node });
    const ev = n.evaluate(tcp());
    expect(ev.outcomes[0]!.fate.kind).toBe("delivered");
    expect(ev.nftProblems?.map((p) => p.message).join()).toMatch(/bridge t is not on the IP path/);
    expect(n.hasRules("ipv4")).toBe(false);
    expect(n.hasRules("ipv6")).toBe(true);
  });

  it("an iptables-nft table is skipped when the iptables dump of its family is given, else evaluated (xt statements indeterminate)", async () => {
    const { parseRules } = await import("../../src/parse.js");
    const ipt = parseRules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n").value;
    const managed = table("ip", "filter", [chain("INPUT", [rule({ kind: "xt", type: "match", name: "recent" }, drop)], base("filter", "input", 0))], [], { managedBy: "iptables-nft" });
    const both = buildNode({ rulesets: [ipt], nft: [ruleset(managed)], node });
    expect(both.evaluate(tcp()).outcomes.map((o) => o.fate.kind)).toEqual(["delivered"]);
    const alone = buildNode({ rulesets: [], nft: [ruleset(managed)], node });
    const outs = alone.evaluate(tcp()).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "dropped"]);
    expect(outs[0]!.given?.[0]).toMatch(/xt match recent/);
  });
});

describe("forks in the middle of a rule", () => {
  it("what the rule did before a numgen fork shows on each side's step (its log line, its mark)", () => {
    const n = nodeOf([input([rule(setMark(mark(1)), { kind: "log", prefix: "x " }, vmap({ kind: "numgen", mode: "random", mod: 2, offset: 0 }, vmapLit([k("integer", 0), accept], [k("integer", 1), drop])))])]);
    const outs = n.evaluate(tcp()).outcomes;
    expect(outs).toHaveLength(2);
    for (const o of outs) {
      expect(o.steps[0]!.log).toMatch(/^x IN=eth0/);
      expect(o.steps[0]!.rewrites).toEqual(["mark 0x0 → 0x1"]);
    }
  });
});

describe("undecided values in statements that act", () => {
  it("a verdict map whose key is unknown may decide the fate: never skipped as if it had matched", () => {
    const n = nodeOf([input([rule(vmap({ kind: "other", name: "socket", text: "socket mark" }, vmapLit([k("integer", 1), drop]))), rule(setMark(mark(3)))])]);
    const outs = n.evaluate(tcp()).outcomes;
    expect(outs.map((o) => o.fate.kind).sort()).toEqual(["delivered", "indeterminate"]);
    expect(outs.find((o) => o.fate.kind === "delivered")!.final.mark).toBe("0x3");
  });
});
