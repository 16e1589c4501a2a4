/**
 * The library's front door takes nftables too: a user's own test reads `nft list ruleset` (or
 * its JSON) with the exported readers and evaluates packets with buildNode, as with iptables.
 */
import { describe, expect, it } from "vitest";
import { buildNode, parseNftJson, parseNftText, printNftRuleset, type NftRuleset } from "../../src/index.js";
import { simpleNode } from "../support/simple-node.js";

const TEXT = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 22 accept
	}
}
`;

describe("nftables through the library's exports", () => {
  const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [] });

  it("reads, prints back and evaluates a ruleset", () => {
    const { ruleset, diagnostics } = parseNftText(TEXT, "ruleset.nft");
    expect(diagnostics).toEqual([]);
    expect(printNftRuleset(ruleset)).toBe(TEXT);
    const n = buildNode({ rulesets: [], nft: [ruleset], node });
    const at = (dport: number) => n.evaluate({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport, tcpFlags: 2 }).outcomes.map((o) => o.fate.kind);
    expect(at(22)).toEqual(["delivered"]);
    expect(at(80)).toEqual(["dropped"]);
  });

  it("reads the JSON nft -j prints into the same shape", () => {
    const json = JSON.stringify({ nftables: [
      { table: { family: "inet", name: "filter", handle: 1 } },
      { chain: { family: "inet", table: "filter", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
      { rule: { family: "inet", table: "filter", chain: "input", handle: 2, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 22 } }, { accept: null }] } },
    ] });
    const r: { ruleset: NftRuleset } = parseNftJson(json, "ruleset.json");
    expect(printNftRuleset(r.ruleset)).toBe(TEXT);
  });
});
