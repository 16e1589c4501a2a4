/** -m mark's hook: the marks diff tries. */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m mark hooks", () => {
  it("diff tries the marked packet", () => {
    const d = dropDifferences("-m mark --mark 0x4000/0x4000");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => ((p.mark ?? 0) & 0x4000) === 0x4000)).toBe(true);
  });
  it("a negated mark is met by the value with the mask's lowest bit flipped (and by no mark)", () => {
    const d = dropDifferences("-m mark ! --mark 0x5/0x7");
    expect(d.some((p) => p.mark === 0x4)).toBe(true);
    expect(d.some((p) => p.mark === undefined)).toBe(true);
    expect(d.some((p) => p.mark === 0x5)).toBe(false);
  });
});
