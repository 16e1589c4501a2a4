/** -m state's hook: the packets diff tries for --state (as for conntrack's --ctstate). */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m state hooks", () => {
  it("diff tries a packet of an established connection for --state ESTABLISHED", () => {
    const d = dropDifferences("-m state --state ESTABLISHED");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.state === "established")).toBe(true);
  });
  it("but not for a negated state", () => {
    expect(dropDifferences("-m state ! --state ESTABLISHED").some((p) => p.state === "established")).toBe(false);
  });
});
