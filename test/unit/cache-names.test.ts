/**
 * A table's chain names as a cache entry keeps them (cli/cache-names.ts): read back, each name
 * is at its position and each position found by its name, a name that is no chain's is not
 * found, and iterating gives what a Map of them gives.
 */
import { describe, expect, it } from "vitest";
import { ChainNames, encodeNames } from "../../src/cli/cache-names.js";
import { BadEntry } from "../../src/cli/cache-errors.js";

describe("stored chain names", () => {
  const names = ["INPUT", "FORWARD", "OUTPUT", ...Array.from({ length: 3000 }, (_, k) => `KUBE-SEP-${(k * 2654435761 >>> 0).toString(36).toUpperCase()}`), "é-chain"];

  it("find every name at its position, and no other name", () => {
    const s = encodeNames(names)!;
    const read = new ChainNames(s).check();
    expect(read.size).toBe(names.length);
    names.forEach((n, k) => {
      expect(read.name(k)).toBe(n);
      expect(read.get(n)).toBe(k);
    });
    for (const other of ["", "DNAT", "INPUT ", "KUBE-SEP-", "input", names[5]! + "X"]) expect(read.has(other), other).toBe(false);
    expect([...read]).toEqual(names.map((n, k) => [n, k]));
  });

  it("are not kept when a name is empty or holds a newline", () => {
    expect(encodeNames(["A", ""])).toBeUndefined();
    expect(encodeNames(["A", "B\nC"])).toBeUndefined();
  });

  it("whose parts do not have their shapes are a bad entry", () => {
    const s = encodeNames(["A", "B"])!;
    expect(() => new ChainNames({ ...s, slots: s.slots.subarray(0, 3) }).check()).toThrow(BadEntry);
    expect(() => new ChainNames({ ...s, joined: s.joined + "C\n" }).check()).toThrow(BadEntry);
    const starts = Int32Array.from(s.starts);
    starts[1] = 1;
    expect(() => new ChainNames({ ...s, starts }).check()).toThrow(BadEntry);
    const twice = Int32Array.from(s.slots).map((k) => (k === 1 ? 0 : k));
    expect(() => new ChainNames({ ...s, slots: twice }).check()).toThrow(BadEntry);
  });
});
