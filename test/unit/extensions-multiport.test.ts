/** -m multiport's hook: the ports diff tries. */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m multiport hooks", () => {
  it("diff tries the edges of every listed port and range", () => {
    const d = dropDifferences("-p tcp -m multiport --dports 8000:8010,9000");
    expect(new Set(d.map((p) => p.dport))).toEqual(new Set([8000, 8010, 9000]));
  });
  it("--sports witnesses the source port", () => {
    const d = dropDifferences("-p udp -m multiport --sports 6000");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.sport === 6000)).toBe(true);
  });
});
