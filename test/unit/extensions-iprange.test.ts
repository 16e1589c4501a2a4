/** -m iprange's hook: the addresses diff tries (the range's ends, and one past each). */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m iprange hooks", () => {
  it("diff tries both ends of a --src-range; the addresses one past them are fated alike", () => {
    const d = dropDifferences("-m iprange --src-range 10.9.0.5-10.9.0.9");
    expect(new Set(d.map((p) => p.src))).toEqual(new Set(["10.9.0.5", "10.9.0.9"]));
  });
  it("a negated range is met by the address past it", () => {
    const d = dropDifferences("-m iprange ! --src-range 0.0.0.0-203.0.113.100");
    expect(new Set(d.map((p) => p.src))).toEqual(new Set(["203.0.113.101"]));
  });
});
