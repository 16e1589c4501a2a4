/** -m addrtype's hook: a rule for local destinations asks diff for packets to the node's own address. */
import { describe, expect, it } from "vitest";
import { addrtype } from "../../src/extensions/matches/addrtype.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { dump } from "../support/extension-hooks.js";

const facts = factsFromTexts([{ file: "node.json", text: JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }] }) }]).facts;

describe("-m addrtype hooks", () => {
  it("--dst-type LOCAL wants a local destination; negated or other types leave it free", () => {
    expect(addrtype.witnesses!({ dst: { negated: false, types: ["LOCAL"] }, limitIfaceIn: false, limitIfaceOut: false })).toEqual([{ kind: "fields", want: { dstLocal: true } }]);
    expect(addrtype.witnesses!({ dst: { negated: true, types: ["LOCAL"] }, limitIfaceIn: false, limitIfaceOut: false })).toEqual([]);
    expect(addrtype.witnesses!({ src: { negated: false, types: ["LOCAL"] }, limitIfaceIn: false, limitIfaceOut: false })).toEqual([]);
  });
  it("diff's packets for such a rule go to the node's address, never to the world beyond it", () => {
    const local = candidatePackets([[dump("filter", ["-A INPUT -p tcp -m addrtype --dst-type LOCAL -j DROP"])]], { facts, random: 0 });
    const free = candidatePackets([[dump("filter", ["-A INPUT -p tcp -j DROP"])]], { facts, random: 0 });
    expect(local.every((p) => p.dst === "192.168.0.11")).toBe(true);
    expect(free.some((p) => p.dst !== "192.168.0.11")).toBe(true);
  });
});
