/**
 * The packets `netfate diff` asks carry addresses of their own family: an inet table's `ip
 * saddr` rule asks nothing of IPv6 packets (it was made into `icmpv6 192.168.10.0 ->
 * 192.168.10.0`, a packet no dump can answer), and an ipset member that is a port
 * (`bitmap:port`'s `30080`) is tried as a port, not as an address.
 */
import { describe, expect, it } from "vitest";
import { candidatePackets } from "../../src/diff/candidates.js";
import { parseNftText } from "../../src/nft/index.js";
import { parseIpsets } from "../../src/ipset/index.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { addressFamily } from "../../src/model/address.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { cleanRules } from "../support/diff-inputs.js";

const NODE = JSON.stringify({ interfaces: [{ name: "eth0", addrs: ["203.0.113.5/24", "2001:db8::5/64"] }, { name: "eth1", addrs: ["192.168.10.1/24"] }] });
const facts = factsFromTexts([{ text: NODE, file: "node.json" }]).facts;

const INET = `table inet t {
\tchain in {
\t\ttype filter hook input priority filter; policy drop;
\t\tip saddr 192.168.10.0/24 tcp dport 22 accept
\t\tip daddr 10.0.0.1-10.0.0.9 accept
\t\tip saddr { 172.16.0.0/12 } accept
\t\tip6 saddr fd00::/64 udp dport 53 accept
\t}
}
`;

/** The packets whose source or destination is not an address of the packet's own family. */
const strays = (packets: readonly PacketSpec[]) =>
  packets.filter((p) => (p.src !== undefined && addressFamily(p.src) !== p.family) || (p.dst !== undefined && addressFamily(p.dst) !== p.family));

describe("diff's candidate packets and their families", () => {
  it("an inet table's IPv4 addresses make no IPv6 packets, in the rules' wishes or the random search", () => {
    const r = parseNftText(INET, "rules.nft");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const packets = candidatePackets([[], []], { nft: [r.ruleset], facts, random: 500 });
    expect(packets.some((p) => p.family === "ipv6")).toBe(true);
    expect(packets.some((p) => p.family === "ipv4" && p.src === "192.168.10.1")).toBe(true);
    expect(strays(packets)).toEqual([]);
  });

  it("an ipset member that is a port is tried as a port, never as an address", () => {
    const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    const rs = cleanRules(`${head}-A INPUT -p tcp -m set --match-set NODE-PORTS dst -j ACCEPT\nCOMMIT\n`);
    const sets = parseIpsets("create NODE-PORTS bitmap:port range 0-65535\nadd NODE-PORTS 30080\n").value;
    const packets = candidatePackets([[rs], [rs]], { facts, sets, random: 300 });
    expect(packets.some((p) => p.dport === 30080)).toBe(true);
    expect(strays(packets)).toEqual([]);
  });
});
