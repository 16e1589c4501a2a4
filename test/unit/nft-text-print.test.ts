/** The nft printer's quirks, each as nft 1.0.6 listed it in a netns. */
import { describe, expect, it } from "vitest";
import type { NftRule, NftSet } from "../../src/model/nft.js";
import { printNftRule, printNftRuleset } from "../../src/nft/print/index.js";
import { printPriority } from "../../src/nft/text/priority.js";
import { parseNftText } from "../../src/nft/text/index.js";

const S = { line: 1, col: 1, len: 1 };

function rule(text: string): NftRule {
  const { ruleset, diagnostics } = parseNftText(`table ip t {\n\tchain c {\n\t\t${text}\n\t}\n}\n`, "r.nft");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return ruleset.tables[0]!.chains[0]!.rules[0]!;
}

const reprint = (text: string): string => printNftRule(rule(text));

function setOf(keyType: string[], keys: string[]): string {
  const decl = `table ip w {\n\tset s {\n\t\ttype ${keyType.join(" . ")}\n\t\telements = { ${keys.join(", ")} }\n\t}\n}\n`;
  const { ruleset } = parseNftText(decl, "s.nft");
  return printNftRuleset(ruleset);
}

describe("nft printer", () => {
  it("prints what nft lists for what a script wrote", () => {
    expect(reprint("mark set mark or 0x4000")).toBe("meta mark set meta mark | 0x00004000");
    expect(reprint("mark 0x10 iifname eth0")).toBe('meta mark 0x00000010 iifname "eth0"');
    expect(reprint("tcp dport ssh")).toBe("tcp dport 22");
    expect(reprint("ct state established,related,new,invalid,untracked")).toBe("ct state invalid,established,related,new,untracked");
    expect(reprint("meta l4proto 47 ip protocol 4")).toBe("meta l4proto gre ip protocol ipencap");
    expect(reprint("jhash ip saddr mod 2 seed 0x0 offset 0 0")).toBe("jhash ip saddr mod 2 seed 0x0 0");
    expect(reprint("numgen inc mod 2 offset 0 0")).toBe("numgen inc mod 2 0");
    expect(reprint("log level warn limit rate 10/second burst 5 packets")).toBe("log limit rate 10/second");
    expect(reprint("ct original saddr 1.1.1.1")).toBe("ct original ip saddr 1.1.1.1");
    expect(reprint("reject with icmp type port-unreachable")).toBe("reject with icmp port-unreachable");
  });

  it("masked bitmask comparisons: VALUE / MASK, except one bit tested against itself", () => {
    expect(reprint("tcp flags & (fin|syn|rst|ack) == syn")).toBe("tcp flags syn / fin,syn,rst,ack");
    expect(reprint("tcp flags & (syn|ack) == syn|ack")).toBe("tcp flags syn,ack / syn,ack");
    expect(reprint("tcp flags & syn == syn")).toBe("tcp flags & syn == syn");
    expect(reprint("tcp flags & (fin|syn|rst|ack) != syn")).toBe("tcp flags != syn / fin,syn,rst,ack");
    expect(reprint("ct state & (new|established) == new")).toBe("ct state new / established,new");
    expect(reprint("meta mark & 0xff00 == 0x100")).toBe("meta mark & 0x0000ff00 == 0x00000100");
    expect(reprint("tcp flags == syn")).toBe("tcp flags == syn");
  });

  it("exact comparisons with several bits: ct state with ` | ` and no `==`, tcp flags in hex; `a|b` unspaced is any-of", () => {
    expect(reprint("ct state != established|related")).toBe("ct state != established | related");
    expect(reprint("ct state == established|related")).toBe("ct state established | related");
    expect(reprint("ct state established | related")).toBe("ct state established | related");
    expect(rule("ct state established | related").stmts[0]).toMatchObject({ op: "==" });
    expect(reprint("ct state established|related")).toBe("ct state established,related");
    expect(reprint("tcp flags == syn|ack")).toBe("tcp flags == 0x12");
    expect(reprint("tcp flags != syn,ack")).toBe("tcp flags != 0x12");
    expect(reprint("ct state == established")).toBe("ct state == established");
  });

  it("a reject of the family's default kind lists as plain reject (as JSON spells it out)", () => {
    const r: NftRule = { stmts: [{ kind: "reject", type: "icmpx", code: "port-unreachable" }], span: S };
    expect(printNftRule(r, { family: "inet" })).toBe("reject");
    expect(printNftRule(r, { family: "ip" })).toBe("reject with icmpx port-unreachable");
    expect(printNftRule({ stmts: [{ kind: "reject", type: "icmp", code: "port-unreachable" }], span: S }, { family: "ip" })).toBe("reject");
    expect(printNftRule({ stmts: [{ kind: "reject", type: "icmpv6", code: "port-unreachable" }], span: S }, { family: "ip6" })).toBe("reject");
    expect(printNftRule({ stmts: [{ kind: "reject", type: "icmp", code: "host-unreachable" }], span: S }, { family: "ip" })).toBe("reject with icmp host-unreachable");
  });

  it("numeric output (-n) and numeric range bounds", () => {
    const r = rule("ct state established,related meta pkttype host ip dscp cs1 ether type ip fib daddr type local");
    expect(printNftRule(r, { numeric: true })).toBe("ct state 0x2,0x4 meta pkttype 0 ip dscp 0x08 ether type 0x0800 fib daddr type 2");
    expect(printNftRule(rule("meta l4proto 10-20"))).toBe("meta l4proto 10-20");
  });

  it("priorities by name within 10 of a standard one valid at the hook", () => {
    expect(printPriority(-110, "ip", "prerouting")).toBe("dstnat - 10");
    expect(printPriority(-110, "ip", "input")).toBe("-110");
    expect(printPriority(10, "inet", "input")).toBe("filter + 10");
    expect(printPriority(11, "inet", "input")).toBe("11");
    expect(printPriority(95, "ip", "postrouting")).toBe("srcnat - 5");
    expect(printPriority(-200, "bridge", "forward")).toBe("filter");
    expect(printPriority(100, "bridge", "output")).toBe("out");
    expect(printPriority(-500, "netdev", "ingress")).toBe("-500");
  });

  it("wraps named set elements as nft does: 5, 2 or 1 per line by key type", () => {
    expect(setOf(["inet_service"], ["1", "2", "3", "4", "5", "6"])).toContain("elements = { 1, 2, 3, 4, 5,\n\t\t\t     6 }");
    expect(setOf(["ipv4_addr"], ["1.1.1.1", "1.1.1.2", "1.1.1.3"])).toContain("elements = { 1.1.1.1, 1.1.1.2,\n\t\t\t     1.1.1.3 }");
    expect(setOf(["ipv6_addr"], ["::1", "::2"])).toContain("elements = { ::1,\n\t\t\t     ::2 }");
    expect(setOf(["ipv4_addr", "inet_service"], ["1.1.1.1 . 1", "1.1.1.1 . 2"])).toContain("elements = { 1.1.1.1 . 1,\n\t\t\t     1.1.1.1 . 2 }");
  });

  it("anonymous sets never wrap", () => {
    const many = Array.from({ length: 12 }, (_, i) => `1.1.1.${i + 1}`).join(", ");
    expect(reprint(`ip saddr { ${many} } accept`)).toBe(`ip saddr { ${many} } accept`);
  });

  it("element options in nft's order: counter, timeout, expires, comment, then the value", () => {
    const set: NftSet = {
      kind: "map", name: "m", keyType: ["ipv4_addr"], dataType: ["mark"], flags: [], span: S,
      elements: [{ key: { kind: "const", type: "ipv4_addr", value: "10.0.0.1" }, data: { kind: "const", type: "mark", value: 1 }, counter: { packets: 0, bytes: 0 }, timeout: 60000, expires: 59000, comment: "c" }],
    };
    const text = printNftRuleset({ source: "list", tables: [{ family: "ip", name: "t", flags: [], chains: [], sets: [set], objects: [], flowtables: [], span: S }] });
    expect(text).toContain('elements = { 10.0.0.1 counter packets 0 bytes 0 timeout 1m expires 59s comment "c" : 0x00000001 }');
    expect(printNftRuleset({ source: "list", tables: [{ family: "ip", name: "t", flags: [], chains: [], sets: [set], objects: [], flowtables: [], span: S }] }, { stateless: true })).toContain("10.0.0.1 counter timeout 1m");
  });

  it("a ruleset: blank lines between objects, none between tables, handles with -a", () => {
    const text = "table ip a { # handle 1\n\tchain x { # handle 1\n\t\taccept # handle 2\n\t}\n\n\tchain y { # handle 3\n\t}\n}\ntable ip b { # handle 2\n\tflags dormant\n}\n";
    const { ruleset } = parseNftText(text, "a.nft");
    expect(printNftRuleset(ruleset, { handles: true })).toBe(text);
    expect(printNftRuleset(ruleset)).toBe("table ip a {\n\tchain x {\n\t\taccept\n\t}\n\n\tchain y {\n\t}\n}\ntable ip b {\n\tflags dormant\n}\n");
  });
});
