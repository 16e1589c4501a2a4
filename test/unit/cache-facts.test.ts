/**
 * Cache entries with what compiling finds (format 2, cli/cache-format.ts): an entry of the
 * earlier format, one whose facts were damaged (caught by the checksum), and one whose checksum
 * holds but whose facts do not fit the dump, are each ignored with a note and parsed again,
 * never answered from; and the lists and maps the warm path makes items in when read
 * (netfilter/lazy-list.ts) behave as arrays and maps to whoever reads them.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FileCache } from "../../src/cli/cache.js";
import { LONG_CHAIN } from "../../src/cli/cache-long-chains.js";
import { readInput, rulesetsOf, type InputResult } from "../../src/inputs.js";
import { compileRulesets } from "../../src/netfilter/compile.js";
import { LazyMap, lazyList } from "../../src/netfilter/lazy-list.js";

/** A filter table with a long chain (its index is stored) that jumps to a missing chain. */
const LONG = [
  "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", ":BIG - [0:0]",
  "-A FORWARD -j BIG",
  ...Array.from({ length: LONG_CHAIN + 4 }, (_, i) => `-A BIG -d 10.1.${i >> 8}.${i & 255}/32 -p tcp -m tcp --dport 80 -j ACCEPT`),
  "-A BIG -j NOWHERE",
  "COMMIT", "",
].join("\n");

function cached() {
  const dir = mkdtempSync(join(tmpdir(), "netfate-cache-facts-"));
  const notes: string[] = [];
  const cache = new FileCache(dir, (m) => notes.push(m));
  let found: InputResult | undefined;
  const read = () => {
    found = undefined;
    const tracking = { get: (t: string, o: Parameters<FileCache["get"]>[1]) => (found = cache.get(t, o)), put: cache.put.bind(cache) };
    return readInput(LONG, { file: "long.save", cache: tracking });
  };
  read();
  const path = join(dir, readdirSync(dir).find((f) => f.endsWith(".entry"))!);
  return { read, notes, path, found: () => found };
}

/** The entry's parts: the magic line, its header, the JSON of the stored result, and the rest. */
function parts(data: Buffer) {
  const magicEnd = data.indexOf(10) + 1;
  const nl = data.indexOf(10, magicEnd);
  const header = JSON.parse(data.toString("utf8", magicEnd, nl)) as { key: string; json: number; bytes: number; crc: number };
  const body = data.subarray(nl + 1);
  return { magic: data.subarray(0, magicEnd), header, json: JSON.parse(body.toString("utf8", 0, header.json)), binary: body.subarray(header.json + ((4 - (header.json % 4)) % 4)) };
}

/** The entry with its stored result's JSON changed by `change`, its header and checksum made to match. */
function rewritten(data: Buffer, change: (stored: any) => void): Buffer {
  const p = parts(data);
  change(p.json);
  const json = Buffer.from(JSON.stringify(p.json));
  const pad = Buffer.alloc((4 - (json.length % 4)) % 4);
  const body = Buffer.concat([json, pad, p.binary]);
  const header = { ...p.header, json: json.length, bytes: body.length, crc: crc32(body) };
  return Buffer.concat([p.magic, Buffer.from(JSON.stringify(header) + "\n"), body]);
}

const problems = (r: InputResult) => compileRulesets(rulesetsOf(r.input), "ipv4").problems;

describe("entries whose facts cannot be trusted", () => {
  const cold = problems(readInput(LONG, { file: "long.save" }));

  it("a good entry is read, with its facts", () => {
    const c = cached();
    const r = c.read();
    expect(c.found()).toBeDefined();
    expect(c.notes).toEqual([]);
    expect(problems(r)).toEqual(cold);
    expect(cold.map((p) => p.message)).toEqual(["jumps to chain NOWHERE, which does not exist"]);
  });

  it.each([
    ["of the earlier format", (b: Buffer) => Buffer.from(b.toString("latin1").replace("netfate-cache 2\n", "netfate-cache 1\n"), "latin1"), /not a netfate cache entry/],
    ["with a byte of its facts changed", (b: Buffer) => {
      const c = Buffer.from(b);
      c[c.indexOf("NOWHERE", c.indexOf("$facts"))] ^= 0x20;
      return c;
    }, /corrupt/],
    ["whose long chain's index names a rule the chain does not have", (b: Buffer) => rewritten(b, (s) => s.ruleset.tables[0].$long[3].always.push(LONG_CHAIN + 50)), /bad chain index/],
    ["whose long chain's lines do not add up to its rules", (b: Buffer) => rewritten(b, (s) => (s.ruleset.tables[0].$long[3].perLine = [2])), /bad chain lines/],
    ["whose table facts are not facts", (b: Buffer) => rewritten(b, (s) => (s.ruleset.tables[0].$facts.jumps.problems = [{ table: "filter" }])), /bad table/],
  ])("an entry %s is ignored, said, and parsed again", (_what, damage, why) => {
    const c = cached();
    writeFileSync(c.path, damage(readFileSync(c.path)));
    const r = c.read();
    expect(c.found()).toBeUndefined();
    expect(c.notes).toEqual([expect.stringMatching(why)]);
    expect(problems(r)).toEqual(cold);
    // Written again: read from the cache next time.
    c.read();
    expect(c.found()).toBeDefined();
  });
});

describe("a list made when read", () => {
  it("is an array to its readers, makes each item once, and cannot be changed", () => {
    const made: number[] = [];
    const l = lazyList(4, (i) => {
      made.push(i);
      return { i };
    });
    expect(Array.isArray(l)).toBe(true);
    expect(l.length).toBe(4);
    expect(l[2]).toEqual({ i: 2 });
    expect(l[2]).toBe(l[2]);
    expect(made).toEqual([2]);
    expect(l[4]).toBeUndefined();
    expect(3 in l).toBe(true);
    expect(4 in l).toBe(false);
    expect(l.map((x) => x.i)).toEqual([0, 1, 2, 3]);
    expect([...l]).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
    expect(Object.keys(l)).toEqual(["0", "1", "2", "3"]);
    expect(JSON.stringify(l)).toBe('[{"i":0},{"i":1},{"i":2},{"i":3}]');
    expect(l).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
    expect(made.sort()).toEqual([0, 1, 2, 3]);
    expect(() => {
      l[0] = { i: 9 };
    }).toThrow(TypeError);
    expect(() => l.push({ i: 4 })).toThrow(TypeError);
  });

  it("makes only the items a search reads, and every item for a whole walk", () => {
    const made: number[] = [];
    const l = lazyList(10, (i) => {
      made.push(i);
      return i * 2;
    });
    expect(l.find((x) => x === 4)).toBe(4);
    expect(l.some((x) => x === 6)).toBe(true);
    expect(made).toEqual([0, 1, 2, 3]);
    let sum = 0;
    for (const x of l) sum += x;
    expect(sum).toBe(90);
    expect(made).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(l.filter((x) => x > 14)).toEqual([16, 18]);
    expect(l.slice(8)).toEqual([16, 18]);
  });

  it("an empty one", () => {
    const l = lazyList(0, () => 1);
    expect(l).toEqual([]);
    expect(l.length).toBe(0);
  });
});

describe("a map made when read", () => {
  it("is a map to its readers, in its keys' order, and makes each item once", () => {
    const made: number[] = [];
    const m = new LazyMap(new Map([["a", 0], ["b", 1], ["c", 2]]), (k) => {
      made.push(k);
      return `item ${k}`;
    });
    expect(m.size).toBe(3);
    expect(m.get("b")).toBe("item 1");
    expect(m.get("z")).toBeUndefined();
    expect(m.has("c")).toBe(true);
    expect(m.has("z")).toBe(false);
    expect(made).toEqual([1]);
    expect([...m.keys()]).toEqual(["a", "b", "c"]);
    expect([...m]).toEqual([["a", "item 0"], ["b", "item 1"], ["c", "item 2"]]);
    expect([...m.values()]).toEqual(["item 0", "item 1", "item 2"]);
    const seen: string[] = [];
    m.forEach((v, k) => seen.push(`${k}=${v}`));
    expect(seen).toEqual(["a=item 0", "b=item 1", "c=item 2"]);
    expect(made).toEqual([1, 0, 2]);
    expect(() => m.set()).toThrow(TypeError);
    expect(() => m.delete()).toThrow(TypeError);
  });
});

describe("the names a lazy list answers to", () => {
  it("are its indexes, written as JavaScript writes them", () => {
    const l = lazyList(20, (i) => i);
    for (const [key, want] of [["0", 0], ["7", 7], ["19", 19], ["20", undefined], ["07", undefined], ["-1", undefined], ["1.5", undefined], ["1e1", undefined], ["", undefined], [" 1", undefined], ["length", 20]] as const) {
      expect((l as unknown as Record<string, unknown>)[key], key).toBe(want);
    }
  });
});
