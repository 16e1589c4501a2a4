import { describe, expect, it } from "vitest";
import { isBitmaskType, parseConst, printConst } from "../../src/nft/datatypes.js";
import { expressionType, printNftExpr } from "../../src/nft/print/expr.js";
import type { NftConst } from "../../src/model/nft.js";

function c(type: string, word: string): NftConst {
  const r = parseConst(type, word);
  if (typeof r === "string") throw new Error(r);
  return r;
}

describe("nft datatypes", () => {
  it("read and print symbols as nft 1.0.6 lists them (checked in a netns)", () => {
    expect(printConst(c("ct_state", "established,related,new,invalid,untracked"))).toBe("invalid,established,related,new,untracked");
    expect(printConst(c("ct_state", "established,related"), { numeric: true })).toBe("0x2,0x4");
    expect(printConst(c("tcp_flag", "syn|ack"))).toBe("syn,ack");
    expect(printConst(c("pkttype", "unicast"))).toBe("host");
    expect(printConst(c("pkttype", "host"), { numeric: true })).toBe("0");
    expect(printConst(c("mark", "0x10"))).toBe("0x00000010");
    expect(printConst(c("dscp", "cs1"), { numeric: true })).toBe("0x08");
    expect(printConst(c("ecn", "ce"), { numeric: true })).toBe("0x3");
    expect(printConst(c("ether_type", "ip"), { numeric: true })).toBe("0x0800");
    expect(printConst(c("inet_proto", "47"))).toBe("gre");
    expect(printConst(c("inet_proto", "4"))).toBe("ipencap");
    expect(printConst(c("inet_service", "ssh"))).toBe("22");
    expect(printConst(c("ifname", '"veth*"'))).toBe('"veth*"');
    expect(c("ifname", '"veth*"').wildcard).toBe(true);
    expect(printConst(c("day", "monday"))).toBe('"Monday"');
    expect(printConst(c("hour", "10:00"))).toBe('"10:00"');
    expect(printConst(c("ipv6_addr", "::FFFF:1.2.3.4"))).toBe("::ffff:1.2.3.4");
    expect(printConst(c("time", "90s"))).toBe("1m30s");
    expect(printConst(c("classid", "1:2"))).toBe("1:2");
  });

  it("says what was expected", () => {
    expect(parseConst("ipv4_addr", "10.0.0.300")).toMatch(/IPv4 address.*10\.0\.0\.300/);
    expect(parseConst("inet_service", "70000")).toMatch(/port number/);
    expect(parseConst("ct_state", "established,bogus")).toMatch(/bogus/);
    expect(parseConst("nosuchtype", "1")).toMatch(/unknown datatype/);
  });

  it("knows the bitmask types", () => {
    expect(["ct_state", "ct_status", "tcp_flag"].every(isBitmaskType)).toBe(true);
    expect(isBitmaskType("inet_service")).toBe(false);
  });

  it("types and prints expressions", () => {
    expect(expressionType({ kind: "concat", parts: [{ kind: "payload", protocol: "ip", field: "daddr" }, { kind: "meta", key: "l4proto" }, { kind: "payload", protocol: "th", field: "dport" }] })).toEqual(["ipv4_addr", "inet_proto", "inet_service"]);
    expect(printNftExpr({ kind: "meta", key: "mark" })).toBe("meta mark");
    expect(printNftExpr({ kind: "meta", key: "iifname" })).toBe("iifname");
    expect(printNftExpr({ kind: "ct", key: "saddr", dir: "original", family: "ip" })).toBe("ct original ip saddr");
    expect(printNftExpr({ kind: "hash", mode: "jhash", expr: { kind: "payload", protocol: "ip", field: "saddr" }, mod: 2, seed: 1, offset: 0 })).toBe("jhash ip saddr mod 2 seed 0x1");
    expect(printNftExpr({ kind: "numgen", mode: "inc", mod: 2, offset: 1 })).toBe("numgen inc mod 2 offset 1");
  });
});
