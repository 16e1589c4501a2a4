/** -j DNAT: the port check it shares with SNAT, MASQUERADE and REDIRECT, and the packets diff tries. */
import { describe, expect, it } from "vitest";
import { dump, ruleErrors, witnessPackets } from "../support/extension-hooks.js";

const NEED = "DNAT: Need TCP, UDP, SCTP or DCCP with port specification";

describe("-j DNAT", () => {
  // Asked of iptables-restore and ip6tables-restore 1.8.9, legacy and nft, in a network
  // namespace: a port is refused without -p, and with gre, udplite or ipv6-icmp; taken with
  // tcp, udp, sctp, dccp, icmp and `! -p tcp` (libxt_NAT looks at the number only).
  it("refuses a port where iptables-restore does, in its words", () => {
    const rule = (p: string) => `-A PREROUTING ${p} -j DNAT --to-destination 1.2.3.4:80`;
    for (const p of ["", "-p gre", "-p udplite"]) expect(ruleErrors("nat", rule(p)), p).toEqual([NEED]);
    for (const p of ["-p tcp", "-p udp", "-p sctp", "-p dccp", "-p icmp", "! -p tcp"]) expect(ruleErrors("nat", rule(p)), p).toEqual([]);
    expect(ruleErrors("nat", "-A PREROUTING -p ipv6-icmp -j DNAT --to-destination [2001:db8::1]:80", "ipv6")).toEqual([NEED]);
    expect(ruleErrors("nat", "-A PREROUTING -p gre -j DNAT --to-destination 1.2.3.4")).toEqual([]);
  });
  it("diff also tries the endpoint directly: its address and port", () => {
    const rs = dump("nat", ["-A PREROUTING -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.2.3:8080"]);
    expect(witnessPackets(rs).some((p) => p.dst === "10.1.2.3" && p.dport === 8080)).toBe(true);
  });
});
