/**
 * What `netfate serve` keeps between commands (cli/resident-inputs.ts): a file's text while the
 * file keeps a settled identity, the parsed result of a kept text, within its bounds; and a
 * chain's digest, made once, is the digest of its rules.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_TEXTS, ResidentInputs } from "../../src/cli/resident-inputs.js";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { digestRule, emptyDigest } from "../../src/model/chain-rules.js";

const dir = mkdtempSync(join(tmpdir(), "netfate-resident-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const later = () => Date.now() + 60_000;
const DUMP = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n";

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("texts kept by their file's identity", () => {
  it("a settled file is read once; an unsettled one each time", () => {
    const p = file("a.save", DUMP);
    let reads = 0;
    const read = () => (reads++, DUMP.slice());
    const settled = new ResidentInputs(later);
    const first = settled.readFile(p, 1 << 20, read);
    expect(settled.readFile(p, 1 << 20, read)).toBe(first);
    expect(reads).toBe(1);
    const fresh = new ResidentInputs(() => Date.now());
    fresh.readFile(p, 1 << 20, read);
    fresh.readFile(p, 1 << 20, read);
    expect(reads).toBe(3);
  });

  it("a changed file, or a smaller size limit, reads again", () => {
    const p = file("b.save", DUMP);
    const r = new ResidentInputs(later);
    let reads = 0;
    r.readFile(p, 1 << 20, () => (reads++, DUMP));
    writeFileSync(p, DUMP.replace("22", "23"));
    expect(r.readFile(p, 1 << 20, () => (reads++, "changed"))).toBe("changed");
    expect(() => r.readFile(p, 10, () => { throw new Error("too big"); })).toThrow("too big");
    expect(reads).toBe(2);
  });

  it("keeps at most MAX_TEXTS texts, the least recently used going first", () => {
    const r = new ResidentInputs(later);
    const paths = Array.from({ length: MAX_TEXTS + 1 }, (_, i) => file(`m${i}.save`, `${DUMP}#${i}\n`));
    for (const p of paths) r.readFile(p, 1 << 20, () => `${p}`);
    let reads = 0;
    r.readFile(paths[MAX_TEXTS]!, 1 << 20, () => (reads++, "again"));
    expect(reads).toBe(0);
    expect(r.readFile(paths[0]!, 1 << 20, () => (reads++, "again"))).toBe("again");
    expect(reads).toBe(1);
  });
});

describe("results kept for kept texts", () => {
  it("gives back the very result parsed, for the same options only, and nothing for a text it does not keep", () => {
    const p = file("c.save", DUMP);
    const r = new ResidentInputs(later);
    const text = r.readFile(p, 1 << 20, () => DUMP.slice());
    const cache = r.over(undefined);
    const opts = { file: p };
    expect(cache.get(text, opts)).toBeUndefined();
    const parsed = readInput(text, { ...opts, cache });
    expect(cache.get(text, opts)).toBe(parsed);
    expect(cache.get(text, { file: p, table: "nat" })).toBeUndefined();
    const other = "*filter\n:INPUT DROP [0:0]\nCOMMIT\n";
    readInput(other, { file: "x", cache });
    expect(cache.get(other, { file: "x" })).toBeUndefined();
  });

  it("a kept result's digests, made once, are its rules' digests", () => {
    const parsed = readInput(DUMP + DUMP.replace("22", "80"), { file: "d.save" });
    for (const t of rulesetsOf(parsed.input)[0]!.tables) {
      for (const c of t.chains) {
        const before = c.rules.digest();
        const rules = c.rules.load();
        const fresh = emptyDigest();
        for (const rule of rules) digestRule(fresh, rule);
        expect(c.rules.digest()).toEqual(fresh);
        expect(c.rules.digest()).toEqual(before);
        expect(c.rules.digest()).toBe(c.rules.digest());
      }
    }
  });
});
