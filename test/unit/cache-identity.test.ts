/**
 * A warm `--cache` knows a file's text by the file's identity (cli/cache-identity.ts) and does
 * not hash it: exact in every case a user can produce. An edited file (even of the same size,
 * its time set back with `touch -d` or `cp -p`), a replaced file, a file changed while it was
 * read, and stdin are read and hashed again, and answered for what they now hold.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileCache } from "../../src/cli/cache.js";
import { InputReader, INPUT_FLAGS } from "../../src/cli/load.js";
import { parseArgs, UsageError } from "../../src/cli/args.js";
import type { CommandIO } from "../../src/cli/io.js";
import { readInput, type InputResult } from "../../src/inputs.js";

const DUMP = (port: number) => `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
-A INPUT -p tcp -m tcp --dport ${port} -j A
-A A -j ACCEPT
COMMIT
`;

const io = (stdin = ""): CommandIO => ({ out: () => {}, err: () => {}, readStdin: () => stdin, isTTY: false });

/** Later than any file's times here by far: every file written in the test counts as settled. */
const later = () => Date.now() + 60_000;

/** One run of a command: a new cache object and reader over the same directory, as a new process has. */
function run(dir: string, file: string, opts: { now?: () => number; stdin?: string; argv?: string[] } = {}) {
  const notes: string[] = [];
  const cache = new FileCache(dir, (m) => notes.push(m), opts.now ?? later);
  const reader = new InputReader(io(opts.stdin), parseArgs(opts.argv ?? [], INPUT_FLAGS), cache);
  const text = reader.read(file);
  const result = readInput(text, { file, cache });
  return { text, result, counts: cache.counts, notes };
}

const whole = (r: InputResult) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

/**
 * Waits until the file system's clock has moved on from `file`'s change time, so that a change
 * made now is one the identity can see (the case a record is never made for: see `settled`).
 */
function afterTick(file: string): void {
  const probe = file + ".tick";
  const then = statSync(file, { bigint: true }).ctimeNs;
  for (;;) {
    writeFileSync(probe, "");
    if (statSync(probe, { bigint: true }).ctimeNs > then) return;
  }
}

function setup(text = DUMP(22)) {
  const dir = mkdtempSync(join(tmpdir(), "netfate-identity-"));
  const file = join(dir, "rules.save");
  writeFileSync(file, text);
  const cache = join(dir, "cache");
  return { dir, file, cache };
}

describe("a file known by its identity", () => {
  it("is read without hashing once recorded, and answered as parsing answers", () => {
    const { file, cache } = setup();
    const first = run(cache, file);
    expect(first.counts.trusted).toBe(0);
    expect(readdirSync(cache).filter((f) => f.endsWith(".ident"))).toHaveLength(1);
    const second = run(cache, file);
    expect(second.counts).toEqual({ trusted: 1, hashed: 0 });
    expect(second.text).toBe(readFileSync(file, "utf8"));
    expect(whole(second.result)).toBe(whole(readInput(DUMP(22), { file })));
    expect(second.notes).toEqual([]);
  });

  it("is a UTF-8 text decoded as UTF-8 when it is not ASCII", () => {
    const text = DUMP(22).replace("-j A", '-m comment --comment "café ✓" -j A');
    const { file, cache } = setup(text);
    run(cache, file);
    const second = run(cache, file);
    expect(second.counts.trusted).toBe(1);
    expect(second.text).toBe(text);
  });

  it("is not recorded while its times are within the clock's tick of now (racy), and is hashed", () => {
    const { file, cache } = setup();
    run(cache, file, { now: Date.now });
    const second = run(cache, file, { now: Date.now });
    expect(second.counts).toEqual({ trusted: 0, hashed: 1 });
  });

  it("edited to the same size with its time set back (touch -d, cp -p) is read again", () => {
    const { file, cache } = setup();
    run(cache, file);
    const before = statSync(file, { bigint: true });
    // `touch -r` copies the times to the nanosecond, as `touch -d` and `cp -p` set them.
    const ref = file + ".times";
    writeFileSync(ref, "");
    execFileSync("touch", ["-r", file, ref]);
    afterTick(file);
    writeFileSync(file, DUMP(23));
    execFileSync("touch", ["-r", ref, file]);
    const now = statSync(file, { bigint: true });
    expect([now.ino, now.size, now.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
    expect(now.ctimeNs).not.toBe(before.ctimeNs);
    const again = run(cache, file);
    expect(again.counts).toEqual({ trusted: 0, hashed: 1 });
    expect(again.text).toBe(DUMP(23));
    expect(whole(again.result)).toBe(whole(readInput(DUMP(23), { file })));
  });

  it("replaced by another file (a new inode) of the same size and time is read again", () => {
    const { dir, file, cache } = setup();
    run(cache, file);
    const other = join(dir, "other.save");
    writeFileSync(other, DUMP(23));
    execFileSync("touch", ["-r", file, other]);
    renameSync(other, file);
    const again = run(cache, file);
    expect(again.counts).toEqual({ trusted: 0, hashed: 1 });
    expect(again.text).toBe(DUMP(23));
  });

  it("changed while a trusted read reads it is read again as usual", () => {
    const { file, cache } = setup();
    run(cache, file);
    const c = new FileCache(cache, () => {}, later);
    afterTick(file);
    const text = c.readFile(file, 1 << 20, () => readFileSync(file, "utf8"), () => writeFileSync(file, DUMP(23)));
    expect(text).toBe(DUMP(23));
    expect(whole(readInput(text, { file, cache: c }))).toBe(whole(readInput(DUMP(23), { file })));
    expect(c.counts.trusted).toBe(0);
  });

  it("changed while it was first read is not recorded", () => {
    const { file, cache } = setup();
    const c = new FileCache(cache, () => {}, later);
    const text = c.readFile(file, 1 << 20, () => {
      const t = readFileSync(file, "utf8");
      afterTick(file);
      writeFileSync(file, DUMP(23));
      return t;
    });
    readInput(text, { file, cache: c });
    expect(readdirSync(cache).filter((f) => f.endsWith(".ident"))).toEqual([]);
    const again = run(cache, file);
    expect(again.counts.trusted).toBe(0);
    expect(again.text).toBe(DUMP(23));
  });

  it("whose record is damaged is read and hashed, and recorded again", () => {
    const { file, cache } = setup();
    run(cache, file);
    const [ident] = readdirSync(cache).filter((f) => f.endsWith(".ident"));
    const path = join(cache, ident!);
    writeFileSync(path, readFileSync(path, "latin1").replace(/latin1:[0-9a-f]{8}/, "latin1:00000000"), "latin1");
    // A record whose hash is not the text's names another entry: its key does not match this text.
    const wrong = run(cache, file);
    expect(whole(wrong.result)).toBe(whole(readInput(DUMP(22), { file })));
    writeFileSync(path, "netfate-identity 1\nnot a record\n");
    const again = run(cache, file);
    expect(again.counts).toEqual({ trusted: 0, hashed: 1 });
    expect(run(cache, file).counts.trusted).toBe(1);
  });

  it("beyond --max-input-size is refused as it is without a cache", () => {
    const { file, cache } = setup();
    run(cache, file);
    expect(() => run(cache, file, { argv: ["--max-input-size", "64"] })).toThrow(UsageError);
  });
});

describe("stdin", () => {
  it("has no identity: it is hashed every time", () => {
    const { cache } = setup();
    run(cache, "-", { stdin: DUMP(22) });
    const again = run(cache, "-", { stdin: DUMP(22) });
    expect(again.counts).toEqual({ trusted: 0, hashed: 1 });
    expect(readdirSync(cache).filter((f) => f.endsWith(".ident"))).toEqual([]);
  });
});
