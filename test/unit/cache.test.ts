/**
 * The cache of parsed dumps (src/cli/cache.ts): a result read back from it is the result of
 * parsing, field for field and rule for rule; a truncated, corrupt or foreign entry is ignored
 * with a note and written again; a changed text, file name or option is a new entry; the
 * directory stays within its bounds; a directory that cannot be used never stops the reading.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { crc32 } from "node:zlib";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FileCache, MAX_ENTRIES } from "../../src/cli/cache.js";
import { readInput, type InputResult, type ReadInputOptions } from "../../src/inputs.js";
import { listShared, sharedPath } from "../support/shared.js";

const root = resolve(import.meta.dirname, "../..");

/** The whole result as text: every chain's rules bound, bigints written out, fields in their order. */
function whole(r: InputResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "netfate-cache-test-"));
}

/** A cache whose notes are kept, and which says whether its last `get` found the entry. */
function cacheIn(dir: string) {
  const notes: string[] = [];
  const cache = new FileCache(dir, (m) => notes.push(m));
  const read = (text: string, opts: ReadInputOptions) => {
    let hit: InputResult | undefined;
    const tracking = { get: (t: string, o: ReadInputOptions) => (hit = cache.get(t, o)), put: cache.put.bind(cache) };
    return { result: readInput(text, { ...opts, cache: tracking }), get found() { return hit; } };
  };
  return { cache, notes, read };
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".entry")).map((f) => join(dir, f)) : [];
}

function saveFiles(): string[] {
  const mine = readdirSync(join(root, "samples"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".save") || f.endsWith(".S"))
    .map((f) => join(root, "samples", f));
  const corpus = existsSync(sharedPath("corpus"))
    ? readdirSync(sharedPath("corpus"), { recursive: true, encoding: "utf8" }).filter((f) => /\.(save|S)\.txt$/.test(f)).map((f) => sharedPath("corpus", f))
    : [];
  const reference = listShared("reference/iptables", ".txt").map((f) => sharedPath("reference/iptables", f));
  return [...mine, ...corpus, ...reference];
}

const KUBE = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [3:180]
:KUBE-SEP-A - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "ns/svc:http" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
-A KUBE-SVC-A -j KUBE-NOT-THERE
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.0.2:8080
COMMIT
`;

describe("a result read from the cache is the parsed result", () => {
  const files = saveFiles();
  it("covers the samples and the shared dumps", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => [relative(root, f), f]))("%s", (name, file) => {
    const text = readFileSync(file, "utf8");
    const dir = tempDir();
    const { read, notes } = cacheIn(dir);
    const opts = { file: name };
    const fresh = readInput(text, opts);
    expect(read(text, opts).found).toBeUndefined();
    const second = read(text, opts);
    expect(notes).toEqual([]);
    // Dumps the cache does not keep (bound rules after -I/-D, text around the dump) are parsed each time.
    if (entries(dir).length === 0) {
      expect(second.found).toBeUndefined();
      expect(whole(second.result)).toBe(whole(fresh));
      return;
    }
    expect(second.found).toBeDefined();
    expect(whole(second.result)).toBe(whole(fresh));
    expect(second.result).toEqual(fresh);
  });

  it("keeps the dumps kube-proxy and iptables-save print", () => {
    const dir = tempDir();
    const { read } = cacheIn(dir);
    read(KUBE, { file: "k.save" });
    expect(entries(dir)).toHaveLength(1);
    const again = read(KUBE, { file: "k.save" });
    expect(again.found).toBeDefined();
    // Nothing is bound until read, and binding from the cache gives the parsed rules and digests.
    const fresh = readInput(KUBE, { file: "k.save" });
    const chains = (r: InputResult) => (r.input.kind === "rules" ? r.input.ruleset.tables[0]!.chains : []);
    expect(chains(again.found!).every((c) => !c.rules.loaded() || c.rules.count === 0)).toBe(true);
    expect(chains(again.found!).map((c) => c.rules.digest())).toEqual(chains(fresh).map((c) => c.rules.digest()));
    expect(again.found!.diagnostics).toEqual(fresh.diagnostics);
    expect(whole(again.found!)).toBe(whole(fresh));
  });

  it("keeps a dump with a byte order mark, an -S dump and an IPv6 dump", () => {
    for (const [text, opts] of [
      ["\ufeff" + KUBE, { file: "bom.save" }],
      ["-P INPUT DROP\n-N A\n-A INPUT -p tcp --dport 22 -j A\n-A A -j ACCEPT\n", { file: "x.S", format: "S", table: "filter" }],
      ["*filter\n:INPUT DROP [0:0]\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n", { file: "v6.save", family: "ipv6" }],
    ] as [string, ReadInputOptions][]) {
      const dir = tempDir();
      const { read } = cacheIn(dir);
      const fresh = readInput(text, opts);
      read(text, opts);
      const again = read(text, opts);
      expect(again.found, opts.file).toBeDefined();
      expect(whole(again.found!)).toBe(whole(fresh));
    }
  });
});

describe("what is not kept", () => {
  it.each([
    ["rules bound while parsing", KUBE, { file: "k.save", deferRules: false }],
    ["rules bound after -I", KUBE.replace("COMMIT", "-I KUBE-SVC-A 1 -j RETURN\nCOMMIT"), { file: "k.save" }],
    ["a listing", "Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nACCEPT     all  --  0.0.0.0/0            0.0.0.0/0\n", { file: "x.L" }],
    ["a dump inside other text", "Here is my dump:\n```\n" + KUBE + "```\n", { file: "issue.md" }],
  ] as [string, string, ReadInputOptions][])("%s: parsed each time, without a note", (_name, text, opts) => {
    const dir = tempDir();
    const { read, notes } = cacheIn(dir);
    const fresh = readInput(text, { ...opts });
    for (let k = 0; k < 2; k++) {
      const r = read(text, opts);
      expect(r.found).toBeUndefined();
      expect(whole(r.result)).toBe(whole(fresh));
    }
    expect(entries(dir)).toEqual([]);
    expect(notes).toEqual([]);
  });
});

describe("entries that cannot be trusted", () => {
  function stored(text = KUBE) {
    const dir = tempDir();
    const c = cacheIn(dir);
    c.read(text, { file: "k.save" });
    const [path] = entries(dir);
    return { ...c, dir, path: path! };
  }

  it.each([
    ["truncated", (b: Buffer) => b.subarray(0, b.length - 7), /truncated/],
    ["cut in its header", (b: Buffer) => b.subarray(0, 20), /truncated|not a netfate/],
    ["corrupt", (b: Buffer) => {
      const c = Buffer.from(b);
      c[c.length - 3] ^= 0x5a;
      return c;
    }, /corrupt/],
    ["empty", () => Buffer.alloc(0), /not a netfate cache entry/],
    ["foreign", () => Buffer.from("PK\u0003\u0004 a zip file, not an entry"), /not a netfate cache entry/],
  ])("a %s entry is ignored, said, and written again", (_name, damage, why) => {
    const { read, notes, path } = stored();
    writeFileSync(path, damage(readFileSync(path)));
    const r = read(KUBE, { file: "k.save" });
    expect(r.found).toBeUndefined();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(why);
    expect(notes[0]).toContain("rewriting");
    expect(whole(r.result)).toBe(whole(readInput(KUBE, { file: "k.save" })));
    // Rewritten: the next read finds it.
    expect(read(KUBE, { file: "k.save" }).found).toBeDefined();
  });

  it("an entry made for another text, under this one's name, is ignored", () => {
    const other = KUBE.replace("10.96.0.10", "10.96.0.11");
    const a = stored(other);
    const b = stored(KUBE);
    renameSync(a.path, b.path);
    const r = b.read(KUBE, { file: "k.save" });
    expect(r.found).toBeUndefined();
    expect(b.notes[0]).toMatch(/another input/);
  });

  it("an entry whose checksum holds but whose line records do not fit the text is ignored", () => {
    const { read, notes, path } = stored();
    // Rewrites the first line record to point inside a line, and the checksum to match.
    const data = readFileSync(path);
    const nl = data.indexOf(10, data.indexOf(10) + 1);
    const header = JSON.parse(data.toString("utf8", data.indexOf(10) + 1, nl)) as { key: string; json: number; bytes: number; crc: number };
    const body = Buffer.from(data.subarray(nl + 1));
    body.writeInt32LE(7, header.json + ((4 - (header.json % 4)) % 4));
    header.crc = crc32(body);
    writeFileSync(path, Buffer.concat([data.subarray(0, data.indexOf(10) + 1), Buffer.from(JSON.stringify(header) + "\n"), body]));
    const r = read(KUBE, { file: "k.save" });
    expect(r.found).toBeUndefined();
    expect(notes).toEqual([expect.stringMatching(/bad line records/)]);
    expect(whole(r.result)).toBe(whole(readInput(KUBE, { file: "k.save" })));
  });
});

describe("what makes a new entry", () => {
  it("a changed text, file name or option is parsed again, never answered from another entry", () => {
    const dir = tempDir();
    const { read } = cacheIn(dir);
    read(KUBE, { file: "k.save" });
    const changed = KUBE.replace("--dport 80", "--dport 81");
    for (const [text, opts] of [
      [changed, { file: "k.save" }],
      [KUBE, { file: "other-name.save" }],
      [KUBE, { file: "k.save", family: "ipv6" }],
      [KUBE, { file: "k.save", format: "save" }],
    ] as [string, ReadInputOptions][]) {
      const r = read(text, opts);
      expect(r.found, JSON.stringify(opts)).toBeUndefined();
      expect(whole(r.result)).toBe(whole(readInput(text, opts)));
    }
    expect(entries(dir)).toHaveLength(5);
  });

  it(`keeps at most ${MAX_ENTRIES} entries, the least recently used removed first`, () => {
    const dir = tempDir();
    const { read } = cacheIn(dir);
    const texts = Array.from({ length: MAX_ENTRIES + 5 }, (_, k) => KUBE.replace("--dport 80", `--dport ${1000 + k}`));
    read(texts[0]!, { file: "k.save" });
    for (const t of texts.slice(1)) {
      read(t, { file: "k.save" });
      // The first is read again each time: the most recently used, it stays.
      expect(read(texts[0]!, { file: "k.save" }).found).toBeDefined();
    }
    expect(entries(dir).length).toBe(MAX_ENTRIES);
    expect(read(texts[1]!, { file: "k.save" }).found).toBeUndefined();
  });

  it("a directory that cannot be made is said once, and reading goes on without it", () => {
    const dir = tempDir();
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const { read, notes } = cacheIn(join(file, "cache"));
    for (let k = 0; k < 3; k++) expect(whole(read(KUBE, { file: "k.save" }).result)).toBe(whole(readInput(KUBE, { file: "k.save" })));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/cannot write to the cache directory/);
    expect(statSync(file).isFile()).toBe(true);
  });
});

describe("the entry's checksum", () => {
  it("is zlib's CRC-32 also where Node's zlib has none (before 20.15)", async () => {
    const { crc32Here } = await import("../../src/cli/cache.js");
    const samples = [new Uint8Array(0), new TextEncoder().encode("123456789"), readFileSync(resolve(import.meta.dirname, "../../samples/kube-proxy-basic/rules.save"))];
    for (const b of samples) expect(crc32Here(b)).toBe(crc32(b));
    expect(crc32Here(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
});
