/**
 * Routing through the whole path: a mark set in mangle chooses the table, the reverse-path
 * filter and the martian checks drop packets between PREROUTING and INPUT/FORWARD with a fate
 * of their own, route_localnet decides a NodePort DNATed from 127.0.0.1, and addrtype's
 * --limit-iface-in looks at the arriving device only. The routing decisions themselves are
 * checked against the kernel in test/kernel/route-get.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { FactRule, NodeFacts } from "../../src/facts/model.js";
import { parseRouteLine } from "../../src/facts/route-line.js";
import { buildNode } from "../../src/netfilter/model.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { parseRules } from "../../src/parse.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { traceText } from "../../src/explain/text.js";
import { PLAIN } from "../../src/explain/colour.js";

const RULES: FactRule[] = [
  { family: "ipv4", priority: 0, action: "lookup", table: "local" },
  { family: "ipv4", priority: 100, fwmark: 0x10, fwmask: 0x10, action: "lookup", table: "100" },
  { family: "ipv4", priority: 32766, action: "lookup", table: "main" },
];

function facts(sysctl: Record<string, string>, rules: FactRule[] | undefined): NodeFacts {
  const routes = ["default via 10.0.0.254 dev eth0", "10.244.1.0/24 via 10.0.0.2 dev eth0", "default via 10.1.0.254 dev eth1 table 100"].map((l) => {
    const r = parseRouteLine(l);
    if (!r.ok) throw new Error(r.error);
    return r.route;
  });
  const f: NodeFacts = {
    interfaces: [
      { name: "eth0", addrs: [{ address: "10.0.0.1", prefixLength: 24, family: "ipv4" }] },
      { name: "eth1", addrs: [{ address: "10.1.0.1", prefixLength: 24, family: "ipv4" }] },
      { name: "lo", addrs: [{ address: "127.0.0.1", prefixLength: 8, family: "ipv4" }] },
    ],
    routes,
    sysctl: { "net.ipv4.ip_forward": "1", ...sysctl },
  };
  if (rules) f.rules = rules;
  return f;
}

function evaluate(save: string, spec: PacketSpec, sysctl: Record<string, string> = {}, rules?: FactRule[] | null): Outcome[] {
  const rs = parseRules(save);
  const errors = rs.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(JSON.stringify(errors));
  return buildNode({ rulesets: [rs.value], node: nodeViewFromFacts(facts(sysctl, rules === null ? undefined : rules ?? RULES)) }).evaluate(spec).outcomes;
}

const EMPTY = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
const MARK_PREROUTING = "*mangle\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -s 10.244.0.0/16 -j MARK --set-xmark 0x10/0x10\nCOMMIT\n" + EMPTY;
const MARK_OUTPUT = "*mangle\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp --dport 53 -j MARK --set-xmark 0x10/0x10\nCOMMIT\n" + EMPTY;

describe("policy routing on the packet's path", () => {
  it("a mark set in mangle PREROUTING chooses the table its fwmark rule looks up, and the outcome names the rule", () => {
    const [o, ...rest] = evaluate(MARK_PREROUTING, { family: "ipv4", from: "eth0", src: "10.244.1.7", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 });
    expect(rest).toEqual([]);
    expect(o!.fate).toEqual({ kind: "forwarded", iface: "eth1", via: "10.1.0.254" });
    expect(o!.routing).toEqual(["input route: rule 100: from all fwmark 0x10/0x10 lookup 100, table 100: default via 10.1.0.254 dev eth1"]);
    // Unmarked traffic takes main.
    const [plain] = evaluate(MARK_PREROUTING, { family: "ipv4", from: "eth0", src: "10.9.1.7", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 });
    expect(plain!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    // The text shows the decision policy routing made.
    const text = traceText({ packet: { family: "ipv4", from: "eth0", src: "10.244.1.7", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 }, outcomes: [o!], problems: [] } as never, { palette: PLAIN });
    expect(text).toContain("  input route: rule 100: from all fwmark 0x10/0x10 lookup 100, table 100: default via 10.1.0.254 dev eth1");
  });

  it("a locally generated packet marked in mangle OUTPUT is routed again by its mark, keeping its source", () => {
    const [o] = evaluate(MARK_OUTPUT, { family: "ipv4", from: "local", dst: "8.8.8.8", proto: 17, sport: 40000, dport: 53 });
    expect(o!.fate).toEqual({ kind: "sent", iface: "eth1", via: "10.1.0.254" });
    // The source was chosen by the first decision (eth0's) and stays: ip_route_me_harder keeps it.
    expect(o!.final.src).toBe("10.0.0.1");
    expect(o!.routing).toEqual([
      "output route: rule 32766: from all lookup main, table main: default via 10.0.0.254 dev eth0",
      "re-route after OUTPUT: rule 100: from all fwmark 0x10/0x10 lookup 100, table 100: default via 10.1.0.254 dev eth1",
    ]);
  });

  it("without ip rule facts, routes in another table make the answer say it assumed the default rules", () => {
    const [o] = evaluate(MARK_PREROUTING, { family: "ipv4", from: "eth0", src: "10.244.1.7", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 }, {}, null);
    expect(o!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    expect(o!.assumptions.some((a) => a.startsWith("ip rule not given") && a.includes("table 100"))).toBe(true);
  });
});

describe("the routing decision drops", () => {
  const ACCEPT_ALL = EMPTY;
  it("strict rp_filter drops a source routed back out another device, after PREROUTING and before FORWARD", () => {
    const save = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j NOTRACK\nCOMMIT\n" + ACCEPT_ALL;
    const [o, ...rest] = evaluate(save, { family: "ipv4", from: "eth0", src: "10.1.0.9", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 }, { "net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth0.rp_filter": "1" });
    expect(rest).toEqual([]);
    expect(o!.fate).toMatchObject({ kind: "martian", check: "rp_filter", iface: "eth0" });
    expect((o!.fate as { reason: string }).reason).toContain("the route back to 10.1.0.9 leaves by eth1, not eth0");
    expect(new Set(o!.steps.map((s) => s.hook))).toEqual(new Set(["PREROUTING"]));
    expect(o!.assumptions).toEqual([]);
    // Loose mode only asks for some route back.
    const [loose] = evaluate(save, { family: "ipv4", from: "eth0", src: "10.1.0.9", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 }, { "net.ipv4.conf.all.rp_filter": "2", "net.ipv4.conf.eth0.rp_filter": "0" });
    expect(loose!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
  });

  it("says when an unstated rp_filter would change the answer", () => {
    const [o] = evaluate(ACCEPT_ALL, { family: "ipv4", from: "eth0", src: "10.1.0.9", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 });
    expect(o!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    expect(o!.assumptions).toEqual([
      "reverse-path filtering assumed off: net.ipv4.conf.all.rp_filter and net.ipv4.conf.eth0.rp_filter not given; strict (rp_filter=1) would drop it: the route back to 10.1.0.9 leaves by eth1, not eth0 (table main: 10.1.0.0/24 dev eth1 src 10.1.0.1)",
    ]);
    // A source routed back the way it came needs no such note.
    const [ok] = evaluate(ACCEPT_ALL, { family: "ipv4", from: "eth0", src: "203.0.113.9", dst: "10.1.0.50", proto: 6, sport: 40000, dport: 443 });
    expect(ok!.assumptions).toEqual([]);
  });

  it("an unstated rp_filter whose stricter check the facts cannot settle is said so, not called harmless", () => {
    // eth9 is not in the facts: the strict check (is the route back by eth9?) cannot be made.
    const [o] = evaluate(ACCEPT_ALL, { family: "ipv4", from: "eth9", src: "10.1.0.9", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 443 });
    expect(o!.fate).toMatchObject({ kind: "forwarded", iface: "eth0" });
    const said = o!.assumptions.find((a) => a.startsWith("reverse-path filtering assumed off"));
    expect(said).toContain("under strict (rp_filter=1) it would depend on what the input does not say: reverse-path check: eth9 is not in the node facts");
    expect(said).not.toContain("would let it through");
  });

  it("a packet arriving on eth0 for 127.0.0.1 is a martian destination unless route_localnet is on", () => {
    const spec: PacketSpec = { family: "ipv4", from: "eth0", src: "10.0.0.9", dst: "127.0.0.1", proto: 6, sport: 40000, dport: 8080 };
    expect(evaluate(ACCEPT_ALL, spec)[0]!.fate).toMatchObject({ kind: "martian", check: "destination" });
    expect(evaluate(ACCEPT_ALL, spec)[0]!.assumptions[0]).toMatch(/^route_localnet assumed off/);
    expect(evaluate(ACCEPT_ALL, spec, { "net.ipv4.conf.eth0.route_localnet": "1" })[0]!.fate).toMatchObject({ kind: "delivered" });
  });

  it("a NodePort reached on 127.0.0.1 and DNATed to a remote pod leaves only with route_localnet (re-route after nat OUTPUT)", () => {
    const save = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
      + "-A OUTPUT -d 127.0.0.1/32 -p tcp --dport 30080 -j DNAT --to-destination 10.244.1.5:80\nCOMMIT\n" + ACCEPT_ALL;
    const spec: PacketSpec = { family: "ipv4", from: "local", dst: "127.0.0.1", proto: 6, sport: 40000, dport: 30080 };
    const [off] = evaluate(save, spec, { "net.ipv4.conf.all.route_localnet": "0", "net.ipv4.conf.eth0.route_localnet": "0" });
    expect(off!.fate).toMatchObject({ kind: "martian", check: "source" });
    expect(off!.steps.some((s) => s.hook === "POSTROUTING")).toBe(false);
    const [on] = evaluate(save, spec, { "net.ipv4.conf.all.route_localnet": "1" });
    expect(on!.fate).toEqual({ kind: "sent", iface: "eth0", via: "10.0.0.2" });
  });

  it("a source that is the node's own address is martian; a subnet broadcast destination is delivered", () => {
    expect(evaluate(ACCEPT_ALL, { family: "ipv4", from: "eth0", src: "10.0.0.1", dst: "10.0.0.1", proto: 1, icmpType: 8 })[0]!.fate).toMatchObject({ kind: "martian", check: "source" });
    expect(evaluate(ACCEPT_ALL, { family: "ipv4", from: "eth0", src: "10.0.0.9", dst: "10.0.0.255", proto: 17, sport: 68, dport: 67 })[0]!.fate).toMatchObject({ kind: "delivered" });
  });
});

describe("a locally generated packet's source", () => {
  it("from an address the node does not hold says which sockets can send it", () => {
    const [o] = evaluate(EMPTY, { family: "ipv4", from: "local", src: "10.9.9.9", dst: "8.8.8.8", proto: 17, sport: 4000, dport: 53 });
    expect(o!.assumptions).toContain("source 10.9.9.9 is not an address of this node: sent from a raw, IP_FREEBIND or IP_TRANSPARENT socket (an ordinary socket's send is refused)");
    const [own] = evaluate(EMPTY, { family: "ipv4", from: "local", src: "10.0.0.1", dst: "8.8.8.8", proto: 17, sport: 4000, dport: 53 });
    expect(own!.assumptions).toEqual([]);
  });
});

describe("addrtype --limit-iface-in", () => {
  it("an address of another device is not LOCAL on the arriving one", () => {
    const save = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j DROP\nCOMMIT\n";
    expect(evaluate(save, { family: "ipv4", from: "eth0", src: "10.0.0.9", dst: "10.1.0.1", proto: 6, sport: 40000, dport: 22 })[0]!.fate).toMatchObject({ kind: "delivered" });
    expect(evaluate(save, { family: "ipv4", from: "eth0", src: "10.0.0.9", dst: "10.0.0.1", proto: 6, sport: 40000, dport: 22 })[0]!.fate).toMatchObject({ kind: "dropped" });
  });
});
