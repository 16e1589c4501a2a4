/** -j SNAT: the port check it shares with DNAT (measured with iptables-restore 1.8.9, as there). */
import { describe, expect, it } from "vitest";
import { ruleErrors } from "../support/extension-hooks.js";

describe("-j SNAT", () => {
  it("refuses a port where iptables-restore does", () => {
    const rule = (p: string) => `-A POSTROUTING ${p} -j SNAT --to-source 1.2.3.4:80`;
    for (const p of ["", "-p gre", "-p udplite"]) expect(ruleErrors("nat", rule(p)), p).toEqual(["SNAT: Need TCP, UDP, SCTP or DCCP with port specification"]);
    for (const p of ["-p tcp", "-p icmp", "! -p tcp"]) expect(ruleErrors("nat", rule(p)), p).toEqual([]);
  });
});
