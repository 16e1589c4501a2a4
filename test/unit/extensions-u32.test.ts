/** -m u32: the expression as the kernel stores it, printed in hex (checked with iptables 1.8.9), and its errors. */
import { describe, expect, it } from "vitest";
import { bindErrors, printed } from "../support/extension-roundtrip.js";
import { parseU32 } from "../../src/extensions/matches/u32.js";
import { ruleDrops } from "../support/rule-verdict.js";
import { simpleNode } from "../support/simple-node.js";

describe("-m u32", () => {
  it("re-prints every number in hex, quoted, in save and -L", () => {
    const p = printed('-m u32 --u32 "0>>22&0x3C@12>>26&0x3C@0=0x47455420"', "u32");
    expect(p.save).toBe(' -m u32 --u32 "0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x47455420"');
    expect(p.L.endsWith('u32 "0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x47455420"')).toBe(true);
    expect(printed('-m u32 --u32 " 0 & 0xff = 5 , 7:9 && 1<<2=3"', "u32").save).toBe(' -m u32 --u32 "0x0&0xff=0x5,0x7:0x9&&0x1<<0x2=0x3"');
    expect(printed('-m u32 --u32 "010=0"', "u32").save).toBe(' -m u32 --u32 "0x8=0x0"');
  });
  it("negation: before the option in save, after the name in -L", () => {
    const p = printed('-m u32 ! --u32 "0&0xFFFF=0x100:0xFFFF"', "u32");
    expect(p.save).toBe(' -m u32 ! --u32 "0x0&0xffff=0x100:0xffff"');
    expect(p.L.endsWith('u32 ! "0x0&0xffff=0x100:0xffff"')).toBe(true);
  });
  it("reports libxt_u32's errors with the character position", () => {
    expect(parseU32("0")).toEqual({ at: 1, message: "u32: abrupt end of input after location specifier" });
    expect(parseU32("0=")).toMatchObject({ message: "u32: test ended with no value specified" });
    expect(parseU32("=1")).toMatchObject({ message: "u32: at char 0: location spec missing" });
    expect(parseU32("0<1=1")).toMatchObject({ message: "u32: at char 2: a second '<' was expected" });
    expect(parseU32("0=1&2=3")).toMatchObject({ message: "u32: at char 4: a second '&' was expected" });
    expect(parseU32("0=0x100000000")).toMatchObject({ message: "u32: at char 2: not a number or out of range" });
    expect(parseU32(Array.from({ length: 11 }, () => "0=0").join("&&"))).toMatchObject({ message: expect.stringContaining('too many "&&"s') });
    expect(Array.isArray(parseU32(Array.from({ length: 10 }, () => "0=0").join("&&")))).toBe(true);
    expect(bindErrors('-m u32 --u32 "0"')).toEqual(["u32: abrupt end of input after location specifier"]);
    expect(bindErrors("-m u32")[0]).toMatch(/--u32 is required/);
  });
  it("is indeterminate: the packet is given as fields, not bytes", () => {
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [] });
    const packet = { family: "ipv4" as const, from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
    expect(ruleDrops({ spec: '-m u32 --u32 "6&0xFF=6"', packet, node })).toBe("indeterminate");
  });
});
