/**
 * Header-field matches (mac, pkttype, ttl, hl, dscp, tos): their kernel semantics as a table
 * of rule, packet and verdict, plus option errors and the -L text read back.
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import type { Family } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NodeView, RouteDecision } from "../../src/model/evaluation.js";
import { findMatch } from "../../src/extensions/registry.js";
import { ListingScanner } from "../../src/extensions/listing-scanner.js";
import type { BindContext } from "../../src/extensions/types.js";
import { simpleNode } from "../support/simple-node.js";
import { ruleDrops } from "../support/rule-verdict.js";

const v4 = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
/** simpleNode with eth0's subnet broadcast and multicast address types, and 2001:db8::11 local on eth0. */
const node: NodeView = {
  ...v4,
  addressType: (ip, family, dev) =>
    ip === "192.168.0.255" || ip === "255.255.255.255" ? "BROADCAST" : /^(22[4-9]|23\d)\./.test(ip) || /^ff/i.test(ip) ? "MULTICAST" : ip === "2001:db8::11" ? "LOCAL" : v4.addressType(ip, family, dev),
  isLocal: (ip, family) => (family === "ipv6" ? ip === "2001:db8::11" : v4.isLocal(ip, family)),
  routeInput: (q): RouteDecision =>
    q.family === "ipv6" ? (q.dst === "2001:db8::11" || /^ff/i.test(q.dst) ? { kind: "local", dev: "lo" } : { kind: "unicast", dev: "eth0" }) : /^(22[4-9]|23\d)\.|^255\.|\.255$/.test(q.dst) ? { kind: "local", dev: "lo" } : v4.routeInput(q),
};

const base4: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
const base6: PacketSpec = { ...base4, family: "ipv6", src: "2001:db8::99", dst: "2001:db8::11" };

/** Whether the single `chain` rule `spec -j DROP` drops the packet (policy ACCEPT otherwise). */
function drops(spec: string, p: Partial<PacketSpec> = {}, family: Family = "ipv4", chain = "INPUT"): boolean | "indeterminate" {
  return ruleDrops({ spec, packet: { ...(family === "ipv4" ? base4 : base6), ...p }, node, family, chain });
}

const MAC = "00:11:22:33:44:55";
const CASES: Record<string, Array<[string, Partial<PacketSpec>, boolean | "indeterminate"]>> = {
  mac: [
    [`-m mac --mac-source ${MAC}`, { srcMac: MAC }, true], [`-m mac --mac-source ${MAC.toUpperCase()}`, { srcMac: MAC }, true],
    [`-m mac --mac-source ${MAC}`, { srcMac: "aa:bb:cc:dd:ee:ff" }, false], [`-m mac ! --mac-source ${MAC}`, { srcMac: MAC }, false],
    [`-m mac ! --mac-source ${MAC}`, { srcMac: "aa:bb:cc:dd:ee:ff" }, true], [`-m mac --mac-source ${MAC}`, {}, "indeterminate"],
    // Loopback has no Ethernet header: the kernel's match fails before any negation.
    [`-m mac ! --mac-source ${MAC}`, { from: "lo", src: "127.0.0.1", dst: "127.0.0.1" }, false],
  ],
  pkttype: [
    ["-m pkttype --pkt-type unicast", {}, true], ["-m pkttype --pkt-type host", {}, true], ["-m pkttype --pkt-type broadcast", {}, false],
    ["-m pkttype --pkt-type broadcast", { dst: "192.168.0.255", proto: 17, tcpFlags: undefined }, true],
    ["-m pkttype --pkt-type BCAST", { dst: "255.255.255.255", proto: 17, tcpFlags: undefined }, true],
    ["-m pkttype --pkt-type multicast", { dst: "224.0.0.251", proto: 17, tcpFlags: undefined }, true],
    ["-m pkttype ! --pkt-type multicast", {}, true], ["-m pkttype ! --pkt-type unicast", {}, false],
  ],
  ttl: [
    ["-m ttl --ttl-eq 64", { ttl: 64 }, true], ["-m ttl --ttl-eq 64", { ttl: 63 }, false], ["-m ttl ! --ttl-eq 64", { ttl: 64 }, false],
    ["-m ttl ! --ttl-eq 64", { ttl: 1 }, true], ["-m ttl --ttl 64", { ttl: 64 }, true], ["-m ttl --ttl-lt 5", { ttl: 4 }, true],
    ["-m ttl --ttl-lt 5", { ttl: 5 }, false], ["-m ttl --ttl-gt 5", { ttl: 6 }, true], ["-m ttl --ttl-gt 5", { ttl: 5 }, false],
    ["-m ttl --ttl-eq 64", {}, "indeterminate"],
  ],
  tos: [
    ["-m tos --tos 0x10", { tos: 0x10 }, true], ["-m tos --tos 0x10", { tos: 0x90 }, false],
    // A symbolic name ignores the precedence bits (mask 0x3f).
    ["-m tos --tos Minimize-Delay", { tos: 0x90 }, true], ["-m tos --tos minimize-cost", { tos: 0x02 }, true],
    ["-m tos ! --tos 0x08/0x0f", { tos: 0x18 }, false], ["-m tos ! --tos 0x08/0x0f", { tos: 0x04 }, true],
    ["-m tos --tos 0x10", {}, "indeterminate"],
  ],
  dscp: [
    ["-m dscp --dscp 0x2e", { tos: 0xb8 }, true], ["-m dscp --dscp-class EF", { tos: 0xb9 }, true], ["-m dscp --dscp-class ef", { tos: 0 }, false],
    ["-m dscp --dscp 46", { tos: 0xb8 }, true], ["-m dscp ! --dscp 10", { tos: 0x28 }, false], ["-m dscp ! --dscp 10", { tos: 0 }, true],
    ["-m dscp --dscp-class AF41", { tos: 0x88 }, true], ["-m dscp --dscp 0", {}, "indeterminate"],
  ],
};

const CASES6: Array<[string, Partial<PacketSpec>, boolean | "indeterminate"]> = [
  ["-m hl --hl-eq 255", { ttl: 255 }, true], ["-m hl --hl-eq 255", { ttl: 64 }, false], ["-m hl ! --hl-eq 255", { ttl: 255 }, false],
  ["-m hl --hl-lt 2", { ttl: 1 }, true], ["-m hl --hl-gt 2", { ttl: 1 }, false], ["-m hl --hl-eq 255", {}, "indeterminate"],
  ["-m pkttype --pkt-type multicast", { dst: "ff02::1", proto: 17, tcpFlags: undefined }, true], ["-m pkttype --pkt-type unicast", {}, true],
  ["-m tos --tos 0x10", { tos: 0x10 }, true], ["-m dscp --dscp-class CS1", { tos: 0x20 }, true],
];

describe("header match semantics", () => {
  for (const [ext, cases] of Object.entries(CASES)) {
    it(ext, () => {
      for (const [spec, p, want] of cases) expect(drops(spec, p), `${spec} ${JSON.stringify(p)}`).toBe(want);
    });
  }
  it("hl and the family-neutral matches on IPv6", () => {
    for (const [spec, p, want] of CASES6) expect(drops(spec, p, "ipv6"), `${spec} ${JSON.stringify(p)}`).toBe(want);
  });
  it("mac outside PREROUTING/INPUT/FORWARD is refused by the kernel: indeterminate, said so", () => {
    expect(drops(`-m mac --mac-source ${MAC}`, { from: "local", src: "192.168.0.11", dst: "8.8.8.8", srcMac: MAC }, "ipv4", "OUTPUT")).toBe("indeterminate");
    expect(drops(`-m mac --mac-source ${MAC}`, { srcMac: MAC, dst: "10.244.0.5" }, "ipv4", "FORWARD")).toBe(true);
  });
  it("pkttype: a locally generated packet is to-us whatever its destination", () => {
    expect(drops("-m pkttype --pkt-type unicast", { from: "local", src: "192.168.0.11", dst: "224.0.0.251", proto: 17, tcpFlags: undefined }, "ipv4", "OUTPUT")).toBe(true);
  });
});

describe("header match options", () => {
  const errors = (spec: string, family: Family = "ipv4") =>
    parseRules(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${spec} -j DROP\nCOMMIT\n`, { family }).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
  it("rejects what iptables rejects, at the option", () => {
    for (const spec of [
      "-m mac --mac-source 0:11:22:33:44:55", "-m mac --mac-source 00:11:22:33:44", "-m mac",
      "-m pkttype --pkt-type otherhost", "-m ttl --ttl-eq 256", "-m ttl --ttl-lt 5 --ttl-gt 1", "-m ttl", "-m ttl ! --ttl-lt 5",
      "-m tos --tos 0x100", "-m tos --tos Fast", "-m tos --tos 0x10/0x1ff", "-m dscp --dscp 64", "-m dscp --dscp 1 --dscp-class EF",
      "-m dscp --dscp-class XX", "-m dscp",
    ]) expect(errors(spec), spec).not.toEqual([]);
    expect(errors("-m hl --hl-eq 256", "ipv6")).not.toEqual([]);
  });
  it("accepts the aliases iptables accepts", () => {
    for (const spec of ["-m pkttype --pkt-type mcast", "-m ttl --ttl 3", "-m tos --tos 0x08/0x0f", "-m dscp --dscp 0x3f"]) expect(errors(spec), spec).toEqual([]);
  });
});

describe("header match printing", () => {
  const ctx: BindContext = { family: "ipv4", protocol: undefined, table: "filter", error: (_s, m) => { throw new Error(m); }, warning: () => {} };
  const span = { line: 1, col: 1, len: 1 };
  const bind = (name: string, flag: string, value: string, negated = false, family: Family = "ipv4") =>
    findMatch(name, family)!.parse([{ flag, negated, values: value === "" ? [] : [value], span }], { ...ctx, family }, span);
  const ROWS: Array<[string, string, string, boolean, Family, string, string, string]> = [
    // name, flag, value, negated, family, save, -L, -nL
    ["tos", "--tos", "0x10", false, "ipv4", " --tos 0x10/0xff", " tos match0x10/0xff", " tos match0x10/0xff"],
    ["tos", "--tos", "Minimize-Delay", true, "ipv4", " ! --tos 0x10/0x3f", " tos match! Minimize-Delay", " tos match!0x10/0x3f"],
    ["dscp", "--dscp-class", "EF", true, "ipv4", " ! --dscp 0x2e", " DSCP match !0x2e", " DSCP match !0x2e"],
    ["ttl", "--ttl-eq", "64", true, "ipv4", " ! --ttl-eq 64", " TTL match TTL != 64", " TTL match TTL != 64"],
    ["hl", "--hl-gt", "1", false, "ipv6", " --hl-gt 1", " HL match HL > 1", " HL match HL > 1"],
    ["pkttype", "--pkt-type", "bcast", true, "ipv4", " ! --pkt-type broadcast", " PKTTYPE != broadcast", " PKTTYPE != broadcast"],
    ["mac", "--mac-source", "AA:BB:CC:DD:EE:FF", true, "ipv4", " ! --mac-source aa:bb:cc:dd:ee:ff", " MAC ! aa:bb:cc:dd:ee:ff", " MAC ! aa:bb:cc:dd:ee:ff"],
  ];
  it("saves and lists as iptables 1.8.9, and reads -L back", () => {
    for (const [name, flag, value, negated, family, save, l, nl] of ROWS) {
      const ext = findMatch(name, family)!;
      const d = bind(name, flag, value, negated, family);
      expect(ext.save(d, { family, protocol: undefined, numeric: false }), name).toBe(save);
      for (const [numeric, text] of [[false, l], [true, nl]] as const) {
        const pctx = { family, protocol: undefined, numeric };
        expect(ext.print(d, pctx), `${name} ${numeric}`).toBe(text);
        const s = new ListingScanner(text.trim() + " more");
        expect(ext.parsePrint!(s, pctx), text).toEqual(d);
        expect(s.rest()).toBe("more");
      }
    }
  });
  it("ttl and hl exist only in their own family", () => {
    expect(findMatch("ttl", "ipv6")).toBeUndefined();
    expect(findMatch("hl", "ipv4")).toBeUndefined();
  });
});
