/**
 * diff compares outcomes by their fields, not by the words of their summaries; the summaries
 * keep the order they are printed in.
 */
import { describe, expect, it } from "vitest";
import { kindsFirst, summarise, type FateDifference } from "../../src/diff/compare.js";
import type { Fate, Outcome } from "../../src/model/evaluation.js";

const packet = { family: "ipv4" as const, from: "eth0", src: "10.0.0.2", dst: "10.96.0.10", proto: 6, sport: 40000, dport: 80 };

function outcome(dst: string, p: number, fate: Fate = { kind: "forwarded", iface: "eth1" }, extra: Partial<Outcome["final"]> = {}): Outcome {
  return { probability: p, assumptions: [], fate, steps: [], final: { src: "10.0.0.2", dst, dport: 80, sport: 40000, mark: "0x0", ctmark: "0x0", ctstate: "NEW", outIface: "eth1", ...extra } } as Outcome;
}

const evaluation = (outcomes: Outcome[]) => ({ packet, problems: [], outcomes }) as never;

describe("diff's comparison of outcomes", () => {
  it("lists outcomes in the order of their printed summaries (10.0.0.10:80 before 10.0.0.1:80)", () => {
    const s = summarise(evaluation([outcome("10.0.0.1", 0.5), outcome("10.0.0.10", 0.5)]));
    expect(s.map((x) => x.final)).toEqual(["10.0.0.2:40000 -> 10.0.0.10:80 out eth1", "10.0.0.2:40000 -> 10.0.0.1:80 out eth1"]);
  });

  it("merges outcomes equal in every compared field, and keeps apart those that differ in one", () => {
    expect(summarise(evaluation([outcome("10.0.0.1", 0.25), outcome("10.0.0.1", 0.75)])).map((x) => x.probability)).toEqual([1]);
    expect(summarise(evaluation([outcome("10.0.0.1", 0.5), outcome("10.0.0.1", 0.5, undefined, { mark: "0x1" })]))).toHaveLength(2);
    // Queued in one chain from two hooks: two fates, though their words are the same.
    const q = (hook: string) => ({ kind: "queued", table: "filter", chain: "Q", rule: 1, hook, queue: "queue 0" }) as Fate;
    const two = summarise(evaluation([outcome("10.0.0.1", 0.5, q("INPUT")), outcome("10.0.0.1", 0.5, q("FORWARD"))]));
    expect(two).toHaveLength(2);
    expect(two[0]!.fate).toBe(two[1]!.fate);
  });

  it("counts kinds of difference by each side's fates and deciding rules, not by final packets", () => {
    const d = (kind: string) => ({ kind }) as FateDifference;
    const { ordered, kinds } = kindsFirst([d("a"), d("a"), d("b")]);
    expect(kinds).toBe(2);
    expect(ordered.map((x) => x.kind)).toEqual(["a", "b", "a"]);
  });
});
