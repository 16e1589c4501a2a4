/** ipset save/list against the real ipset 7.17 output, and lookups with the kernel's semantics. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseIpsets, ipsetSaveText, ipsetListText, ipsetView } from "../../src/ipset/index.js";
import { formatDiagnostic } from "../../src/model/diagnostics.js";
import { hasShared, listShared, readShared, sections, sharedNotice } from "../support/shared.js";

describe.skipIf(!hasShared)("reference ipsets", () => {
  if (!hasShared) it.skip(sharedNotice("ipset tests"), () => {});
  for (const f of listShared("reference/ipset", ".txt")) {
    const sec = sections(readShared("reference/ipset", f));
    const save = sec.get("save")!;
    const list = sec.get("list")!;
    it(`${f}: save round trip`, () => {
      const r = parseIpsets(save, { file: f });
      expect(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
      expect(ipsetSaveText(r.value)).toBe(save);
    });
    it(`${f}: list reads into the same sets as save`, () => {
      const a = parseIpsets(list, { file: f });
      expect(a.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
      expect(ipsetListText(a.value)).toBe(list.replace(/\n$/, "") + "\n");
      const b = parseIpsets(save, { file: f }).value;
      expect(a.value.sets.map((s) => [s.name, s.type, s.family, s.entries.map((e) => e.text)])).toEqual(b.sets.map((s) => [s.name, s.type, s.family, s.entries.map((e) => e.text)]));
    });
  }
});

describe("ipset lookups", () => {
  const sets = parseIpsets(`create nets hash:net family inet hashsize 1024 maxelem 65536
add nets 10.0.0.0/8
add nets 10.1.0.0/16 nomatch
add nets 10.1.2.0/24
create svc hash:ip,port family inet hashsize 1024 maxelem 65536
add svc 10.96.0.10,udp:53
add svc 10.96.0.10,tcp:53
add svc 10.96.0.1,443
create ports bitmap:port range 30000-32767
add ports 30080
create both list:set size 8
add both svc
add both nets
`).value;
  const v = ipsetView(sets);
  const t = (src: string, dst: string, proto = 6, dport = 80) => ({ src, dst, proto, sport: 1000, dport });
  it("hash:net: the most specific entry decides, nomatch included", () => {
    expect(v.test("nets", t("10.9.9.9", "1.1.1.1"), ["src"])).toBe(true);
    expect(v.test("nets", t("10.1.9.9", "1.1.1.1"), ["src"])).toBe("nomatch");
    expect(v.test("nets", t("10.1.2.9", "1.1.1.1"), ["src"])).toBe(true);
    expect(v.test("nets", t("11.0.0.1", "1.1.1.1"), ["src"])).toBe(false);
  });
  it("hash:ip,port: protocol and port, bare port is tcp", () => {
    expect(v.test("svc", t("1.1.1.1", "10.96.0.10", 17, 53), ["dst", "dst"])).toBe(true);
    expect(v.test("svc", t("1.1.1.1", "10.96.0.10", 17, 54), ["dst", "dst"])).toBe(false);
    expect(v.test("svc", t("1.1.1.1", "10.96.0.1", 6, 443), ["dst", "dst"])).toBe(true);
    expect(v.test("svc", t("1.1.1.1", "10.96.0.1", 17, 443), ["dst", "dst"])).toBe(false);
  });
  it("bitmap:port and list:set", () => {
    expect(v.test("ports", t("1.1.1.1", "2.2.2.2", 6, 30080), ["dst"])).toBe(true);
    expect(v.test("ports", t("1.1.1.1", "2.2.2.2", 6, 30081), ["dst"])).toBe(false);
    expect(v.test("both", t("10.9.9.9", "2.2.2.2"), ["src", "dst"])).toBe(true);
    expect(v.test("missing", t("10.9.9.9", "2.2.2.2"), ["src"])).toMatchObject({ indeterminate: expect.stringMatching(/not in the ipset dump/) });
  });
  it("a lookup in a 100k-member set agrees with a linear scan", () => {
    let text = "create big hash:net family inet hashsize 1024 maxelem 200000\n";
    const nets: Array<[number, number]> = [];
    for (let i = 0; i < 100_000; i++) {
      const n = ((i * 2654435761) >>> 0) & 0xffffff00;
      const p = 16 + (i % 3) * 4;
      const m = (n & ((0xffffffff << (32 - p)) >>> 0)) >>> 0;
      nets.push([m, p]);
      text += `add big ${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${p}\n`;
    }
    const big = ipsetView(parseIpsets(text).value);
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (ip) => {
      const s = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
      const linear = nets.some(([n, p]) => ((ip & ((0xffffffff << (32 - p)) >>> 0)) >>> 0) === n);
      expect(big.test("big", { src: s, dst: s, proto: 6 }, ["src"])).toBe(linear);
    }), { numRuns: 2000 });
  });
  it("never throws on random text, errors are located", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      const r = parseIpsets(s, { file: "x" });
      for (const d of r.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
    }), { numRuns: 500 });
  });
});
