/** nft base chains on the hook path beside the iptables tables, by priority (each order checked in a netns: test/kernel/nft-semantics.test.ts). */
import { describe, expect, it } from "vitest";
import { buildNode } from "../../src/netfilter/model.js";
import { parseRules } from "../../src/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { parseNftText } from "../../src/nft/index.js";
import { accept, base, chain, counter, ct, ctState, drop, ip4, mark, match, meta, nat, pl, port, rule, ruleset, setMark, table } from "../support/nft-build.js";

const node = simpleNode({
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
});

function rules(text: string) {
  const r = parseRules(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.value;
}

const tcp = (over: Partial<PacketSpec> = {}): PacketSpec => ({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2, ...over });
/** The rules that ran (policies that let the packet on left out). */
const where = (o: Outcome) => o.steps.filter((s) => !(s.rule === "policy" && s.verdict === "ACCEPT")).map((s) => `${s.table}${s.nft ? `(${s.nft.priority})` : ""} ${s.chain} ${s.rule} ${s.verdict}`);

const IPT = rules(`*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -j MARK --set-xmark 0x10/0xff
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 80 -j DROP
COMMIT
`);

describe("nft chains beside iptables tables", () => {
  it("runs every table and chain of a hook in priority order", () => {
    const t = table("inet", "fw", [
      chain("pre-160", [rule(setMark(mark(1)))], base("filter", "prerouting", -160)),
      chain("pre-140", [rule(match(meta("mark"), mark(0x10)), setMark(mark(2)))], base("filter", "prerouting", -140)),
      chain("in-10", [rule(match(pl("tcp", "dport"), port(22)), accept)], base("filter", "input", -10)),
      chain("in10", [rule(match(pl("tcp", "dport"), port(22)), drop)], base("filter", "input", 10)),
    ]);
    const n = buildNode({ rulesets: [IPT], nft: [ruleset(t)], node });
    const [o] = n.evaluate(tcp()).outcomes;
    // An accept ends only its own base chain: filter INPUT and the chain at 10 still run, and the drop there is final.
    expect(where(o!)).toEqual([
      "nft(-160) pre-160 1 CONTINUE", "mangle PREROUTING 1 CONTINUE", "nft(-140) pre-140 1 CONTINUE",
      "nft(-10) in-10 1 ACCEPT", "filter INPUT 1 ACCEPT", "nft(10) in10 1 DROP",
    ]);
    expect(o!.fate).toMatchObject({ kind: "dropped", table: "nft", chain: "in10", hook: "INPUT", nft: { family: "inet", table: "fw" } });
  });

  it("an iptables drop is final whatever nft chains accept", () => {
    const t = table("ip", "fw", [chain("in", [rule(accept)], base("filter", "input", -5))]);
    const [o] = buildNode({ rulesets: [IPT], nft: [ruleset(t)], node }).evaluate(tcp({ dport: 80 })).outcomes;
    expect(o!.fate).toMatchObject({ kind: "dropped", table: "filter", chain: "INPUT", rule: 2 });
  });

  it("nat chains run from the NAT core's hook at -100: a nat chain at -50 runs before a filter chain at -90", () => {
    const t = table("ip", "fw", [
      chain("f-90", [rule(setMark(mark(1)))], base("filter", "prerouting", -90)),
      chain("n-50", [rule(match(meta("mark"), mark(0)), setMark(mark(7)))], base("nat", "prerouting", -50)),
      chain("use-ct", [rule(match(ct("state"), ctState("new")))], base("filter", "input", 0)),
    ]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(tcp()).outcomes;
    expect(where(o!).slice(0, 2)).toEqual(["nft(-50) n-50 1 CONTINUE", "nft(-90) f-90 1 CONTINUE"]);
  });

  it("the first nat chain that sets NAT up stops the others, iptables' nat table included", () => {
    const ipt = rules(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 22 -j DNAT --to-destination 10.244.0.9:2222
COMMIT
`);
    const early = table("ip", "fw", [chain("n-110", [rule(match(pl("tcp", "dport"), port(22)), nat("dnat", { addr: ip4("10.244.0.5") }))], base("nat", "prerouting", -110))]);
    const [o] = buildNode({ rulesets: [ipt], nft: [ruleset(early)], node }).evaluate(tcp()).outcomes;
    expect(o!.final.dst).toBe("10.244.0.5");
    expect(where(o!)).toEqual(["nft(-110) n-110 1 DNAT"]);
    const late = table("ip", "fw", [chain("n-90", [rule(match(pl("tcp", "dport"), port(22)), nat("dnat", { addr: ip4("10.244.0.5") }))], base("nat", "prerouting", -90))]);
    const [p] = buildNode({ rulesets: [ipt], nft: [ruleset(late)], node }).evaluate(tcp()).outcomes;
    expect(p!.final.dst).toBe("10.244.0.9");
    expect(p!.final.dport).toBe(2222);
    expect(where(p!)).toEqual(["nat PREROUTING 1 DNAT"]);
  });

  it("nat chains never run when nothing enables conntrack (checked in a netns)", () => {
    const t = table("ip", "fw", [chain("n", [rule(setMark(mark(3)))], base("nat", "prerouting", -100))]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(t)], node }).evaluate(tcp()).outcomes;
    expect(o!.final.mark).toBe("0x0");
  });

  it("a route chain in OUTPUT re-routes the packet whose mark it changed; a filter chain does not", () => {
    const plain = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], eth1: ["172.16.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    // Policy routing by mark: fwmark 1 leaves by eth1.
    const byMark = { ...plain, routeOutput: (q: Parameters<typeof plain.routeOutput>[0]) => (q.mark === 1 ? { kind: "unicast" as const, dev: "eth1", src: "172.16.0.11" } : plain.routeOutput(q)) };
    const out = (type: "route" | "filter") => table("ip", "fw", [chain("out", [rule(setMark(mark(1)))], base(type, "output", -150))]);
    const send = tcp({ from: "local", src: undefined, dst: "8.8.8.8" });
    expect(buildNode({ rulesets: [], nft: [ruleset(out("route"))], node: byMark }).evaluate(send).outcomes[0]!.fate).toEqual({ kind: "sent", iface: "eth1" });
    expect(buildNode({ rulesets: [], nft: [ruleset(out("filter"))], node: byMark }).evaluate(send).outcomes[0]!.fate).toMatchObject({ kind: "sent", iface: "eth0" });
    // A second route chain that changes nothing does not re-route again.
    const noted = { ...byMark, routeOutput: (q: Parameters<typeof plain.routeOutput>[0]) => ({ ...byMark.routeOutput(q), chosenBy: `mark ${q.mark}` }) };
    const twice = table("ip", "fw", [chain("mark", [rule(setMark(mark(1)))], base("route", "output", -160)), chain("count", [rule(counter)], base("route", "output", -140))]);
    const [o] = buildNode({ rulesets: [], nft: [ruleset(twice)], node: noted }).evaluate(send).outcomes;
    expect(o!.routing?.filter((r) => r.startsWith("re-route"))).toEqual(["re-route after OUTPUT: mark 1"]);
  });

  it("a chain at an iptables table's own priority runs after it, and the outcome says the order is assumed", () => {
    const t = table("inet", "fw", [chain("in0", [rule(match(pl("tcp", "dport"), port(22)), drop)], base("filter", "input", 0))]);
    const [o] = buildNode({ rulesets: [IPT], nft: [ruleset(t)], node }).evaluate(tcp()).outcomes;
    expect(where(o!).slice(-2)).toEqual(["filter INPUT 1 ACCEPT", "nft(0) in0 1 DROP"]);
    expect(o!.assumptions.join()).toMatch(/nft inet fw in0 and iptables' filter table have the same priority \(0\)/);
    // Not said where the iptables chain does nothing.
    const quiet = rules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
    const [p] = buildNode({ rulesets: [quiet], nft: [ruleset(t)], node }).evaluate(tcp()).outcomes;
    expect(p!.assumptions.join()).not.toMatch(/same priority/);
  });

  it("without nft rulesets nothing changes: hasRules counts only what was given", () => {
    const n = buildNode({ rulesets: [IPT], node });
    expect(n.evaluate(tcp()).nftProblems).toBeUndefined();
    expect(buildNode({ rulesets: [], nft: [ruleset(table("inet", "x", []))], node }).hasRules("ipv6")).toBe(true);
  });
});

describe("sets a table does not declare", () => {
  it("a lookup of, or an update to, an undeclared set is a problem the answer carries", () => {
    const text = `table ip t {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tip saddr @nolookup drop
\t\tadd @noupdate { ip saddr }
\t}
}
`;
    const r = parseNftText(text, "rules.nft");
    const e = buildNode({ rulesets: [], nft: [r.ruleset], node }).evaluate(tcp());
    const said = (e.nftProblems ?? []).map((p) => p.message).join("\n");
    expect(said).toMatch(/uses @nolookup, which table ip t does not declare/);
    expect(said).toMatch(/uses @noupdate, which table ip t does not declare/);
  });
});
