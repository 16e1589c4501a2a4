/** -m tcp's hooks: the ports diff tries, and the chain index's destination port. */
import { describe, expect, it } from "vitest";
import { dropDifferences, indexedPorts } from "../support/extension-hooks.js";

describe("-m tcp hooks", () => {
  it("diff tries the port a --dport names, and finds the packet the rule now drops", () => {
    const d = dropDifferences("-p tcp -m tcp --dport 8443");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.proto === 6 && p.dport === 8443)).toBe(true);
  });
  it("diff tries the edges of a --sport range (one past them too), and only the inside differs", () => {
    const d = dropDifferences("-p tcp -m tcp --sport 2000:2010");
    expect(new Set(d.map((p) => p.sport))).toEqual(new Set([2000, 2010]));
  });
  it("a negated --dport is met by a port outside it", () => {
    const d = dropDifferences("-p tcp -m tcp ! --dport 0:79");
    expect(d.some((p) => p.dport === 80)).toBe(true);
    expect(d.every((p) => p.dport! >= 80)).toBe(true);
  });
  it("a long chain files each one-port --dport rule under its port; ranges and negations are always tried", () => {
    expect(indexedPorts((n) => `-p tcp -m tcp --dport ${n}`)).toEqual({ byDport: Array.from({ length: 20 }, (_, i) => 1000 + i), always: 0 });
    expect(indexedPorts((n) => `-p tcp -m tcp --dport ${n}:${n + 1}`).byDport).toEqual([]);
    expect(indexedPorts((n) => `-p tcp -m tcp ! --dport ${n}`).byDport).toEqual([]);
    expect(indexedPorts((n) => `! -p tcp -m tcp --dport ${n}`).byDport).toEqual([]);
  });
});
