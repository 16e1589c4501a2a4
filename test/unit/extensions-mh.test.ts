/** -m mh: numbers in save, names in -L (checked with ip6tables 1.8.9), the protocol it needs, evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m mh", () => {
  it("saves the type as a number, lists it by name (number with -n)", () => {
    const p = printed("-m mh --mh-type binding-update -p mh", "mh", "ipv6");
    expect(p.save).toBe(" -p mobility-header -m mh --mh-type 5");
    expect(p.L.endsWith("mh binding-update")).toBe(true);
    expect(p.nL.endsWith("mh 5")).toBe(true);
  });
  it("ranges, prefixes of names, negation and the full range", () => {
    const r = printed("-p mh -m mh ! --mh-type bu:7", "mh", "ipv6");
    expect(r.save).toBe(" -p mobility-header -m mh ! --mh-type 5:7");
    expect(r.L.endsWith("mh !binding-update:binding-error")).toBe(true);
    expect(printed("-p mh -m mh --mh-type :3", "mh", "ipv6").save).toBe(" -p mobility-header -m mh --mh-type 0:3");
    expect(printed("-p mh -m mh --mh-type b", "mh", "ipv6").save).toBe(" -p mobility-header -m mh --mh-type 0");
    expect(printed("-p mh -m mh --mh-type 9", "mh", "ipv6").L.endsWith("mh 9")).toBe(true);
    // Measured: 0:255 saves as nothing even when negated; -L keeps the negation.
    const all = printed("-p mh -m mh ! --mh-type 0:", "mh", "ipv6", "INPUT", { lossySave: true });
    expect(all.save).toBe(" -p mobility-header -m mh");
    expect(all.L.endsWith("mh !binding-refresh-request:255")).toBe(true);
  });
  it("refuses what ip6tables refuses", () => {
    expect(bindErrors("-m mh --mh-type 5", "ipv6")[0]).toMatch(/only valid for protocol 135/);
    expect(bindErrors("-p mh -m mh --mh-type 7:5", "ipv6")[0]).toMatch(/min > max/);
    expect(bindErrors("-p mh -m mh --mh-type nope", "ipv6")[0]).toMatch(/Invalid MH type `nope'/);
    expect(bindErrors("-p mh -m mh --mh-type 256", "ipv6")[0]).toMatch(/Invalid MH type/);
  });
  it("evaluates what the packet shows: not MH or a fragment never matches; the type is not given", () => {
    const answer = (spec: string, p = {}) => matchAnswer(spec, "mh", { proto: 135, ...p }, "ipv6");
    expect(answer("-p mh -m mh --mh-type 5")).toEqual({ indeterminate: "mh: the packet's Mobility Header type is not given" });
    expect(answer("-p mh -m mh")).toBe(true);
    expect(answer("-p mh -m mh ! --mh-type 0:")).toBe(false);
    expect(answer("-p mh -m mh --mh-type 5", { fragment: true })).toBe(false);
  });
});
