/** -m udp's hooks: the ports diff tries, and the chain index's destination port. */
import { describe, expect, it } from "vitest";
import { dropDifferences, indexedPorts } from "../support/extension-hooks.js";

describe("-m udp hooks", () => {
  it("diff tries the ports --sport and --dport name", () => {
    const d = dropDifferences("-p udp -m udp --sport 5353 --dport 4789");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.proto === 17 && p.sport === 5353 && p.dport === 4789)).toBe(true);
  });
  it("a long chain files each one-port --dport rule under its port", () => {
    expect(indexedPorts((n) => `-p udp -m udp --dport ${n}`).byDport).toHaveLength(20);
    expect(indexedPorts((n) => `-p udp -m udp --sport ${n}`)).toEqual({ byDport: [], always: 20 });
  });
});
