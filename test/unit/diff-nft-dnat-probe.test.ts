/**
 * `netfate diff` asks about the packet a dnat makes: an nft rule `dnat to 10.244.1.5:8080`
 * puts 10.244.1.5:8080 among the candidate packets (the nat kind gives the destination it
 * translates to), so a change to what happens to the translated packet is found.
 */
import { describe, expect, it } from "vitest";
import { candidatePackets } from "../../src/diff/candidates.js";
import { parseNftText } from "../../src/nft/index.js";

const RULES = `table ip t {
\tchain pre {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tip daddr 10.96.0.10 tcp dport 80 dnat to 10.244.1.5:8080
\t\tip daddr 10.96.0.11 tcp dport 80 dnat to ip daddr map { 10.96.0.11 : 10.244.1.6 }
\t}
}
`;

describe("nft probes of a diff", () => {
  it("a dnat to a constant address and port is asked about as its own packet", () => {
    const r = parseNftText(RULES, "rules.nft");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const packets = candidatePackets([[], []], { nft: [r.ruleset], random: 0 });
    expect(packets.some((p) => p.dst === "10.244.1.5" && p.dport === 8080)).toBe(true);
  });
});
