/**
 * ipset members as `ipset restore` takes or refuses them (the cases are pinned against the
 * real tool by test/kernel/ipset-dimensions.test.ts), and lookups with the kernel's rules for
 * direction flags, families, --return-nomatch and list:set.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parseRules } from "../../src/parse.js";
import { simpleNode } from "../support/simple-node.js";
import { IPSET_RESTORE_CASES } from "../support/ipset-refusals.js";

describe("ipset members ipset restore refuses are located errors", () => {
  it.each(IPSET_RESTORE_CASES)("$name", ({ text, refusedAt, diagnostic }) => {
    const r = parseIpsets(text, { file: "sets.save" });
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    // The tool stops at its first refusal; netfate goes on and reports every one after it too.
    if (refusedAt === undefined) expect(errors).toEqual([]);
    else expect(errors[0]?.line).toBe(refusedAt);
    if (!diagnostic) return expect(r.diagnostics).toEqual([]);
    const d = r.diagnostics[0]!;
    expect({ severity: d.severity, file: d.file, line: d.line, col: d.col }).toEqual({ severity: diagnostic.severity, file: "sets.save", line: diagnostic.line, col: diagnostic.col });
    expect(d.message).toMatch(diagnostic.message);
    if (diagnostic.expected) expect(d.expected).toMatch(diagnostic.expected);
    if (diagnostic.found !== undefined) expect(d.found).toBe(diagnostic.found);
  });

  it("a refused member is left out of its set; one netfate cannot read keeps lookups indeterminate", () => {
    const r = parseIpsets("create s hash:ip,port family inet\nadd s 8.8.8.8,udp:53\nadd s 10.0.0.5\nadd s 10.0.0.6,tcp:http\n");
    expect(r.value.sets[0]!.entries.map((e) => e.text)).toEqual(["8.8.8.8,udp:53", "10.0.0.6,tcp:http"]);
    const v = ipsetView(r.value);
    expect(v.test("s", { src: "1.1.1.1", dst: "8.8.8.8", proto: 17, sport: 1, dport: 53 }, ["dst", "dst"])).toBe(true);
    expect(v.test("s", { src: "1.1.1.1", dst: "9.9.9.9", proto: 17, sport: 1, dport: 53 }, ["dst", "dst"])).toMatchObject({ indeterminate: expect.stringMatching(/1 members of s could not be read/) });
  });

  it("an ipset list block's members are checked too", () => {
    const r = parseIpsets("Name: s\nType: hash:ip,port\nHeader: family inet hashsize 1024 maxelem 65536\nMembers:\n10.0.0.5\n8.8.8.8,udp:53\n", { file: "list.txt" });
    expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity}`)).toEqual(["5:1 error"]);
    expect(r.value.sets[0]!.entries.map((e) => e.text)).toEqual(["8.8.8.8,udp:53"]);
  });
});

describe("set lookups follow the kernel's dimension rules", () => {
  const sets = parseIpsets(`create test hash:ip,port family inet
add test 8.8.8.8,udp:53
add test 8.8.8.8,icmp:echo-request
add test 8.8.8.8,gre:0
create nets hash:net family inet
add nets 10.0.0.0/8
add nets 10.1.0.0/16 nomatch
create ports bitmap:port range 0-1024
add ports 53
create six hash:ip family inet6
add six ::1
create both list:set
add both six
add both test
add both nets
`).value;
  const v = ipsetView(sets);
  const udp = { src: "10.1.2.3", dst: "8.8.8.8", proto: 17, sport: 40000, dport: 53 };

  it("fewer direction flags than dimensions never match; more are ignored", () => {
    expect(v.test("test", udp, ["dst"])).toBe(false);
    expect(v.test("test", udp, ["dst", "dst"])).toBe(true);
    expect(v.test("test", udp, ["dst", "dst", "src"])).toBe(true);
    expect(v.test("test", udp, ["dst", "src"])).toBe(false);
  });

  it("the udp:53 member does not match tcp; ICMP by type and code; port-less protocols by proto:0", () => {
    expect(v.test("test", { ...udp, proto: 6 }, ["dst", "dst"])).toBe(false);
    expect(v.test("test", { src: "1.1.1.1", dst: "8.8.8.8", proto: 1, icmpType: 8, icmpCode: 0 } as never, ["dst", "dst"])).toBe(true);
    expect(v.test("test", { src: "1.1.1.1", dst: "8.8.8.8", proto: 1, icmpType: 0, icmpCode: 0 } as never, ["dst", "dst"])).toBe(false);
    expect(v.test("test", { src: "1.1.1.1", dst: "8.8.8.8", proto: 47 }, ["dst", "dst"])).toBe(true);
    expect(v.test("test", { ...udp, fragment: true } as never, ["dst", "dst"])).toBe(false);
  });

  it("bitmap:port takes TCP and UDP only", () => {
    expect(v.test("ports", udp, ["dst"])).toBe(true);
    expect(v.test("ports", { ...udp, proto: 132 }, ["dst"])).toBe(false);
  });

  it("a set of another family never matches", () => {
    expect(v.test("six", udp, ["src"])).toBe(false);
  });

  it("--return-nomatch: nomatch entries match, plain ones do not, in types with nomatch entries only", () => {
    const m = (name: string, src: string, flags: ("src" | "dst")[], rn: boolean) => v.match(name, { ...udp, src }, flags, { returnNomatch: rn });
    expect(m("nets", "10.1.2.3", ["src"], true)).toBe(true);
    expect(m("nets", "10.9.2.3", ["src"], true)).toBe(false);
    expect(m("nets", "10.1.2.3", ["src"], false)).toBe(false);
    expect(m("test", "10.1.2.3", ["dst", "dst"], true)).toBe(true);
    // list:set: each member with the rule's flags and --return-nomatch.
    expect(m("both", "10.1.2.3", ["src", "src"], true)).toBe(true);
    expect(m("both", "10.1.2.3", ["src", "src"], false)).toBe(false);
    expect(m("both", "10.9.2.3", ["src", "src"], false)).toBe(true);
  });

  it("the reported case: -m set --match-set test dst against hash:ip,port does not drop", () => {
    const rules = parseRules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FOO - [0:0]\n-A FORWARD -j FOO\n-A FOO -m set --match-set test dst -j DROP\nCOMMIT\n").value;
    const node = buildNode({ rulesets: [rules], node: simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", via: "192.168.0.1", dev: "eth0" }], forwarding: true }), ipsets: v });
    const outcomes = node.evaluate({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "8.8.8.8", proto: 17, sport: 40000, dport: 53 }).outcomes;
    expect(outcomes.map((o) => o.fate.kind)).toEqual(["forwarded"]);
  });
});

describe("no member text crashes the reader or a lookup", () => {
  const TYPES = ["hash:ip", "hash:net", "hash:ip,port", "hash:net,port", "hash:ip,port,ip", "hash:ip,port,net", "hash:net,iface", "hash:net,net", "hash:ip,mark", "hash:mac", "hash:ip,mac", "bitmap:ip range 10.0.0.0/24", "bitmap:port range 0-1024", "bitmap:ip,mac range 10.0.0.0/24", "list:set"];
  const piece = fc.oneof(
    fc.constantFrom("10.0.0.1", "10.0.0.0/24", "10.0.0.0/33", "::1", "2001:db8::/130", "tcp:80", "udp:99999", "icmp:8/0", "icmp:ping", "gre:0", "80-90", "eth0", "physdev:eth0", "00:11:22:33:44:55", "0x10", "s", ""),
    fc.string({ maxLength: 12 }),
  );
  it("errors and warnings are located inside their line", () => {
    fc.assert(fc.property(fc.constantFrom(...TYPES), fc.constantFrom("inet", "inet6"), fc.array(fc.array(piece, { minLength: 1, maxLength: 3 }), { maxLength: 6 }), (type, family, members) => {
      const lines = [`create s hash:ip family ${family}`, `create t ${type} family ${family}`, ...members.map((m) => `add t ${m.join(",").replace(/\s/g, "") || "x"}`)];
      const r = parseIpsets(lines.join("\n") + "\n", { file: "f" });
      for (const d of r.diagnostics) {
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.col).toBeGreaterThanOrEqual(1);
        expect(d.col).toBeLessThanOrEqual((lines[d.line - 1] ?? "").length + 1);
      }
      const v = ipsetView(r.value);
      for (const flags of [["src"], ["dst", "src"], ["src", "dst", "dst"]] as const) {
        v.match("t", { src: family === "inet" ? "10.0.0.1" : "::1", dst: family === "inet" ? "10.0.0.9" : "::9", proto: 17, sport: 1, dport: 80, inIface: "eth0", srcMac: "00:11:22:33:44:55", mark: 16 }, flags, { returnNomatch: true });
      }
    }), { numRuns: 400 });
  });
});
