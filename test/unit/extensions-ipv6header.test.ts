/** -m ipv6header: the header mask printed in iptables' order and names, or in hex with -n (checked with ip6tables 1.8.9). */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m ipv6header", () => {
  it("prints the headers in mask order with /etc/protocols names; -nL prints the mask", () => {
    const p = printed("-m ipv6header --header frag,hop-by-hop --soft", "ipv6header", "ipv6");
    expect(p.save).toBe(" -m ipv6header --header hop-by-hop,ipv6-frag --soft");
    expect(p.L.endsWith("ipv6header flags:hop-by-hop,ipv6-frag soft")).toBe(true);
    expect(p.nL.endsWith("ipv6header flags:0x90 soft")).toBe(true);
    const n = printed("-m ipv6header ! --header ipv6-opts,prot,none,esp,ah,route,hop --soft", "ipv6header", "ipv6");
    expect(n.save).toBe(" -m ipv6header ! --header hop-by-hop,ipv6-opts,ipv6-route,ah,esp,ipv6-nonxt,protocol --soft");
    expect(n.L.endsWith("ipv6header flags:!hop-by-hop,ipv6-opts,ipv6-route,ah,esp,ipv6-nonxt,protocol soft")).toBe(true);
    expect(n.nL.endsWith("ipv6header flags:!0xEF soft")).toBe(true);
    expect(printed("-m ipv6header --header 255,hopopt,60", "ipv6header", "ipv6").nL.endsWith("flags:0xC1")).toBe(true);
  });
  it("refuses what ip6tables refuses", () => {
    expect(bindErrors("-m ipv6header ! --header tcp", "ipv6")[0]).toMatch(/unknown header `6' specified/);
    expect(bindErrors("-m ipv6header --header bogus", "ipv6")[0]).toMatch(/unknown header `bogus'/);
    expect(bindErrors("-m ipv6header --soft", "ipv6")[0]).toMatch(/--header is required/);
  });
  it("decides from the packet what it shows, else is indeterminate", () => {
    const answer = (spec: string, p = {}) => matchAnswer(spec, "ipv6header", { proto: 6, ...p }, "ipv6");
    expect(answer("-m ipv6header --header protocol --soft")).toBe(true);
    expect(answer("-m ipv6header ! --header protocol --soft")).toBe(false);
    expect(answer("-m ipv6header --header frag,protocol --soft", { fragment: true })).toBe(true);
    expect(answer("-m ipv6header --header esp --soft", { proto: 50 })).toBe(true);
    expect(answer("-m ipv6header --header hop-by-hop --soft")).toHaveProperty("indeterminate");
    expect(answer("-m ipv6header --header protocol")).toHaveProperty("indeterminate");
  });
});
