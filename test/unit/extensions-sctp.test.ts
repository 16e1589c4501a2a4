/** -m sctp's hooks: the ports diff tries; its rules are not filed by port in a chain index. */
import { describe, expect, it } from "vitest";
import { dropDifferences, indexedPorts } from "../support/extension-hooks.js";

describe("-m sctp hooks", () => {
  it("diff tries the port --dport names", () => {
    const d = dropDifferences("-p sctp -m sctp --dport 3868");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.proto === 132 && p.dport === 3868)).toBe(true);
  });
  it("a long chain of sctp rules is walked rule by rule (no indexDport)", () => {
    expect(indexedPorts((n) => `-p sctp -m sctp --dport ${n}`)).toEqual({ byDport: [], always: 20 });
  });
});
