/**
 * netfate/testing refuses option names it does not know: `loadNode({ iface: [...] })` used to
 * build a node without the interface, and a property over it held for the wrong reason.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadNode, nodeFromTexts, packet, packets } from "../../src/testing/index.js";

const rules = "samples/004-kube-proxy-nodeport/rules.save";
const save = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i eth0 -j ACCEPT\nCOMMIT\n";

describe("option names", () => {
  it("loadNode: a misspelt option is an error naming the right one", () => {
    // The user's case: `iface` was dropped, so the node lacked the address the property was about.
    expect(() => loadNode({ rules, iface: ["eth0=192.168.0.11/24"] } as never)).toThrow(/^loadNode: unknown option "iface"; did you mean "ifaces"\?/);
    expect(() => loadNode({ rules, localAddr: ["10.0.0.1"] } as never)).toThrow(/did you mean "localAddrs"/);
    expect(() => loadNode({ rule: rules } as never)).toThrow(/unknown option "rule"; did you mean "rules"/);
    expect(() => loadNode({ rules, zzzzzzzz: 1 } as never)).toThrow(/unknown option "zzzzzzzz" \(options: rules, ipsets, node, ipvs, ifaces, routes, localAddrs, table\)/);
    expect(() => loadNode("rules.save" as never)).toThrow(/loadNode: expected an object of options, found string/);
  });

  it("loadNode: the options it knows still work", () => {
    const node = loadNode({ rules, node: "samples/004-kube-proxy-nodeport/node.json", ifaces: [], routes: [], localAddrs: [], ipsets: [] });
    expect(node.evaluate(packet("tcp 203.0.113.9:40000 -> 192.168.0.11:32110 in eth0")).outcomes.length).toBeGreaterThan(0);
  });

  it("nodeFromTexts: texts and options both checked", () => {
    const texts = { rules: [{ file: "x.save", text: save }] };
    expect(() => nodeFromTexts({ ...texts, ipset: [] } as never)).toThrow(/nodeFromTexts: unknown option "ipset"; did you mean "ipsets"/);
    expect(() => nodeFromTexts(texts, { iface: ["eth0=10.0.0.2/24"] } as never)).toThrow(/did you mean "ifaces"/);
    const e = nodeFromTexts(texts, { ifaces: ["eth0=10.0.0.2/24"] }).evaluate(packet("tcp 10.0.0.1:1 -> 10.0.0.2:2 in eth0"));
    expect(e.outcomes.map((o) => o.fate.kind)).toEqual(["delivered"]);
  });

  it("packets: a misspelt constraint is an error, not a wider arbitrary", () => {
    expect(() => packets({ dports: [80] } as never)).toThrow(/^packets: unknown option "dports"; did you mean "dport"\?/);
    expect(() => packets({ notSource: "10.0.0.0/8" } as never)).toThrow(/unknown option "notSource"/);
    fc.assert(fc.property(packets({ proto: "tcp", dport: 80 }), (p) => p.dport === 80));
  });
});
