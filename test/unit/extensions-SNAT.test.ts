/** -j SNAT: the port check it shares with DNAT (measured with iptables-restore 1.8.9, as there). */
import { describe, expect, it } from "vitest";
import { dump, ruleErrors, traced } from "../support/extension-hooks.js";

describe("-j SNAT", () => {
  it("refuses a port where iptables-restore does", () => {
    const rule = (p: string) => `-A POSTROUTING ${p} -j SNAT --to-source 1.2.3.4:80`;
    for (const p of ["", "-p gre", "-p udplite"]) expect(ruleErrors("nat", rule(p)), p).toEqual(["SNAT: Need TCP, UDP, SCTP or DCCP with port specification"]);
    for (const p of ["-p tcp", "-p icmp", "! -p tcp"]) expect(ruleErrors("nat", rule(p)), p).toEqual([]);
  });
  // Measured: SNAT to 10.9.0.1:6000-6100 kept source port 6050 (7050 became a port of the
  // range the kernel chose at random; netfate names the range's first for it).
  it("keeps a source port that lies in the port range", () => {
    const rs = dump("nat", ["-A POSTROUTING -p udp -j SNAT --to-source 192.168.0.11:6000-6100"]);
    const from = (sport: number) => traced([rs], { family: "ipv4", from: "local", proto: 17, src: "192.168.0.11", dst: "192.168.0.20", sport, dport: 53 }).map((o) => o.final.sport);
    expect(from(6050)).toEqual([6050]);
    expect(from(7050)).toEqual([6000]);
  });
});
