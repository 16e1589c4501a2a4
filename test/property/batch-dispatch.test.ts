/**
 * `batch --jobs N`, the main thread's side (batch-dispatch.ts) with fake workers that answer
 * their chunks after random delays, so answers come back out of the input's order: what is
 * written is every answer in the input's order, byte for byte (multi-byte UTF-8, blank lines
 * with no answer), the answer buffers going back and forth between the threads as they do
 * (transferred: a buffer given back before its bytes were written would be written empty);
 * and the bytes held never pass the bound by more than one chunk's answers.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CHUNK_LINES, Dispatch, dispatchAll, type FromWorker, type ToWorker } from "../../src/cli/commands/batch-dispatch.js";
import { AnswerPacker } from "../../src/cli/commands/batch-pack.js";
import type { PacketLine } from "../../src/cli/commands/batch-lines.js";

/** A line's answer: of a length that varies with it, with characters of 1 to 3 UTF-8 bytes; none for a blank line. */
function answerOf(l: PacketLine): string | null {
  if ("error" in l) return `error ${l.line}\n`;
  if (!l.text) return null;
  return `${l.line} ${"é€x".repeat(l.text.length * 7)} ${l.text}\n`;
}

/** Moves a message across "threads" as postMessage does: a transferred buffer is detached here. */
function transfer<T>(m: T, list: ArrayBuffer[]): T {
  return structuredClone(m, { transfer: list });
}

class FakeWorkers {
  private readonly queues: ToWorker[][];
  private readonly packers: AnswerPacker[];
  /** Answers delivered: `came` wakes the reader. */
  private came = false;
  private wake: (() => void) | undefined;
  private stuck = false;
  dispatch!: Dispatch;

  constructor(lanes: number, private readonly rnd: () => number) {
    this.queues = Array.from({ length: lanes }, () => []);
    this.packers = Array.from({ length: lanes }, () => new AnswerPacker());
  }

  takers() {
    return this.queues.map((q) => ({ postMessage: (m: ToWorker, list: ArrayBuffer[]) => void q.push(transfer(m, list)) }));
  }

  /**
   * Some time later, answers come as workers working all the while would send them: each
   * worker any number of its oldest chunks (it answers them in the order sent), at least one
   * chunk in all.
   */
  private schedule(): void {
    setImmediate(() => {
      const ready = this.queues.map((q, i) => (q.length ? i : -1)).filter((i) => i >= 0);
      // Waiting with every chunk answered: a real batch would wait forever.
      if (!ready.length) {
        this.stuck = true;
        this.wake?.();
        return;
      }
      let sent = 0;
      for (const k of ready) for (let n = Math.floor(this.rnd() * (this.queues[k]!.length + 1)); n > 0; n--, sent++) this.answer(k);
      if (!sent) this.answer(ready[Math.floor(this.rnd() * ready.length)]!);
      this.came = true;
      this.wake?.();
    });
  }

  private answer(k: number): void {
    const m = this.queues[k]!.shift()!;
    const p = this.packers[k]!;
    p.giveBack(m.spare);
    p.begin();
    for (const l of m.lines) p.add(answerOf(l));
    const a = { kind: "answered", ...p.end(), bad: 0, counts: [] } satisfies FromWorker;
    this.dispatch.answered(k, transfer(a, [a.bytes]));
  }

  nextAnswer = async (): Promise<void> => {
    while (!this.came) {
      this.schedule();
      await new Promise<void>((done) => (this.wake = done));
      if (this.stuck) throw new Error("the dispatch waits for an answer no worker owes");
    }
    this.came = false;
  };
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function run(lines: PacketLine[], lanes: number, seed: number, bound: { lines: number; bytes: number }) {
  const fake = new FakeWorkers(lanes, rng(seed));
  const out: Buffer[] = [];
  // Copied as written: the buffers are handed back (detached) afterwards.
  const d = new Dispatch(fake.takers(), (parts) => void out.push(...parts.map((p) => Buffer.from(p))), bound);
  fake.dispatch = d;
  const laneOf = (l: PacketLine) => ("text" in l && l.text ? (l.text.length * 31 + l.text.charCodeAt(0)) % lanes : 0);
  await dispatchAll(d, lines, laneOf, fake.nextAnswer);
  return { out: Buffer.concat(out).toString("utf8"), peak: d.peakBytes, texts: d.texts };
}

const lineArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 40, unit: fc.constantFrom("a", "b", "1", ".", ":", " ", "→") }) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constant(null) },
);

function linesOf(texts: Array<string | null>): PacketLine[] {
  return texts.map((t, i) => (t === null ? { line: i + 1, error: "unreadable" } : { line: i + 1, text: t }));
}

describe("batch --jobs: the dispatch writes in the input's order, within its bound", () => {
  it("every answer, in order, byte for byte, whatever order the workers answer in", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 0, maxLength: 5000, size: "max" }), fc.integer({ min: 1, max: 4 }), fc.integer(), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 16, max: 4096 }), async (texts, lanes, seed, aheadLines, aheadKiB) => {
        const lines = linesOf(texts);
        const want = lines.map(answerOf).filter((a) => a !== null).join("");
        const got = await run(lines, lanes, seed, { lines: aheadLines, bytes: aheadKiB << 10 });
        expect(got.out === want).toBe(true);
        expect(got.texts).toBe(lines.filter((l) => answerOf(l) !== null).length);
      }),
      { numRuns: 40, endOnFailure: true },
    );
  }, 120_000);

  it("the bytes held (lines read, answers received, not yet written) stay within the bound and one chunk's answers", async () => {
    const bytes = 4 << 20;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer(), async (lanes, seed) => {
        const r = rng(seed);
        // ~1.5 KB answers, 20,000 of them: 7 times the bound in all.
        const lines = linesOf(Array.from({ length: 20_000 }, () => "x".repeat(1 + Math.floor(r() * 60))));
        const maxAnswer = Math.max(...lines.map((l) => Buffer.byteLength(answerOf(l) ?? "")));
        const got = await run(lines, lanes, seed, { lines: 1_000_000, bytes });
        expect(got.texts).toBe(lines.length);
        expect(got.peak).toBeLessThanOrEqual(bytes + CHUNK_LINES * maxAnswer);
      }),
      { numRuns: 6, endOnFailure: true },
    );
  }, 120_000);
});

describe("AnswerPacker", () => {
  it("fills a buffer given back before it makes a new one, and grows it for a chunk that needs more", () => {
    const p = new AnswerPacker();
    p.begin();
    p.add("a\n");
    const first = p.end();
    p.giveBack([first.bytes]);
    p.begin();
    p.add(null);
    p.add("é\n");
    const second = p.end();
    expect(second.bytes).toBe(first.bytes);
    expect([...second.lengths]).toEqual([-1, 3]);
    expect(Buffer.from(second.bytes, 0, 3).toString()).toBe("é\n");
    p.giveBack([second.bytes]);
    p.begin();
    const big = "€".repeat(100_000);
    p.add(big);
    const third = p.end();
    expect(third.bytes).not.toBe(first.bytes);
    expect(Buffer.from(third.bytes, 0, third.lengths[0]).toString()).toBe(big);
    expect(p.spareCount).toBe(0);
  });
});
