/**
 * The smaller inlining budget while inputs are read (cli/parse-inlining.ts): a flag node was
 * started with is left alone, and the reading's result and errors pass through unchanged,
 * nested or not.
 */
import { describe, expect, it } from "vitest";
import { inliningGiven, withReadingInlining } from "../../src/cli/parse-inlining.js";

describe("inliningGiven", () => {
  it("sees the flag on node's command line, in either spelling", () => {
    expect(inliningGiven(["--max-inlined-bytecode-size-cumulative=500"], undefined)).toBe(true);
    expect(inliningGiven(["--max_inlined_bytecode_size_cumulative=500"], undefined)).toBe(true);
  });

  it("sees it in NODE_OPTIONS", () => {
    expect(inliningGiven([], "--enable-source-maps --max-inlined-bytecode-size-cumulative=300")).toBe(true);
  });

  it("is not fooled by the per-function limit or other flags", () => {
    expect(inliningGiven(["--max-inlined-bytecode-size=100", "--enable-source-maps"], "--no-warnings")).toBe(false);
    expect(inliningGiven([], undefined)).toBe(false);
  });
});

describe("withReadingInlining", () => {
  it("gives what the reading gives, nested too", () => {
    expect(withReadingInlining(() => withReadingInlining(() => 41) + 1)).toBe(42);
  });

  it("passes an error on, and reads again after it", () => {
    expect(() => withReadingInlining(() => {
      throw new Error("bad dump");
    })).toThrow("bad dump");
    expect(withReadingInlining(() => "again")).toBe("again");
  });
});
