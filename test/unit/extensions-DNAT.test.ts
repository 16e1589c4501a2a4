/** -j DNAT: the port check it shares with SNAT, MASQUERADE and REDIRECT, and the packets diff tries. */
import { describe, expect, it } from "vitest";
import { dump, ruleErrors, traced, witnessPackets } from "../support/extension-hooks.js";

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
  // Measured in a network namespace (conntrack -L): DNAT to 10.9.0.7:5000-5100 kept
  // destination port 5050 and turned 7000 into 5000, the range's first.
  it("keeps a destination port that lies in the port range; another becomes the range's first", () => {
    const rs = dump("nat", ["-A PREROUTING -d 192.168.0.11/32 -p tcp -j DNAT --to-destination 192.168.0.11:5000-5100"]);
    const to = (dport: number) => traced([rs], { family: "ipv4", from: "eth0", proto: 6, src: "192.168.0.254", dst: "192.168.0.11", sport: 40000, dport, tcpFlags: 2 });
    expect(to(5050).map((o) => [o.final.dport, o.rewrites])).toEqual([[5050, ["DNAT 192.168.0.11:5050 → 192.168.0.11:5050"]]]);
    expect(to(7000).map((o) => [o.final.dport, o.rewrites])).toEqual([[5000, ["DNAT 192.168.0.11:7000 → 192.168.0.11:5000"]]]);
  });
  it("says which address of an address range stands for the kernel's pick", () => {
    const rs = dump("nat", ["-A PREROUTING -d 192.168.0.11/32 -p tcp -j DNAT --to-destination 192.168.0.11-192.168.0.12:80"]);
    const o = traced([rs], { family: "ipv4", from: "eth0", proto: 6, src: "192.168.0.254", dst: "192.168.0.11", sport: 40000, dport: 8080, tcpFlags: 2 });
    expect(o.map((x) => x.rewrites)).toEqual([["DNAT (first of range 192.168.0.11-192.168.0.12:80) 192.168.0.11:8080 → 192.168.0.11:80"]]);
  });
});
