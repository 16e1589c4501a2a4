import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { chiSquare } from "../support/chi-square.js";

/** Draws n categories from `probs` with a seeded generator (mulberry32). */
function draw(probs: number[], n: number, seed: number): number[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const counts = probs.map(() => 0);
  for (let i = 0; i < n; i++) {
    let r = rand();
    let k = 0;
    while (k < probs.length - 1 && r >= probs[k]!) r -= probs[k++]!;
    counts[k]!++;
  }
  return counts;
}

describe("chi-square goodness of fit (significance 0.001)", () => {
  it("computes the textbook statistic", () => {
    // 60 die rolls: sum of (o-e)^2/e with e = 10 → (4+1+0+1+9+1)/10 = 1.6.
    const r = chiSquare([8, 9, 10, 11, 13, 9], Array(6).fill(1 / 6));
    expect(r.statistic).toBeCloseTo(1.6, 10);
    expect(r.df).toBe(5);
    expect(r.critical).toBe(20.515);
    expect(r.fits).toBe(true);
  });

  it("accepts samples drawn from the distribution it is given", () => {
    const probs = [0.33333333349, (1 - 0.33333333349) / 2, (1 - 0.33333333349) / 2];
    const r = chiSquare(draw(probs, 600, 20261125), probs);
    expect(r.fits, JSON.stringify(r)).toBe(true);
  });

  it("rejects a clearly wrong distribution: samples of 1/2, 1/4, 1/4 tested against 1/3 each (a chain of 1/2 then 1/2 misread as even)", () => {
    const drawn = draw([0.5, 0.25, 0.25], 600, 20261125);
    const r = chiSquare(drawn, [1 / 3, 1 / 3, 1 / 3]);
    expect(r.fits, JSON.stringify(r)).toBe(false);
    expect(r.statistic).toBeGreaterThan(3 * r.critical);
  });

  it("an observation in a category of probability 0 never fits", () => {
    expect(chiSquare([300, 299, 1], [0.5, 0.5, 0]).fits).toBe(false);
    expect(chiSquare([300, 300, 0], [0.5, 0.5, 0]).fits).toBe(true);
  });

  it("refuses what it cannot judge: too few samples, probabilities not summing to 1", () => {
    expect(() => chiSquare([3, 2], [0.5, 0.5])).toThrow(/below 5/);
    expect(() => chiSquare([30, 20], [0.5, 0.4])).toThrow(/sum/);
  });

  it("false rejections of a right distribution stay rare (seeded, 200 trials of 600 draws)", () => {
    const probs = [0.2, 0.3, 0.5];
    let rejected = 0;
    fc.assert(fc.property(fc.integer(), (seed) => {
      if (!chiSquare(draw(probs, 600, seed), probs).fits) rejected++;
    }), { numRuns: 200, seed: 42 });
    expect(rejected).toBeLessThanOrEqual(2);
  });
});
