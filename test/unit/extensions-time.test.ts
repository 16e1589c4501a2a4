/** -m time: what iptables 1.8.9 stores and prints back (checked in a netns), errors, evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m time", () => {
  it("prints seconds and the default end date in save; -L says UTC", () => {
    const p = printed("-m time --timestart 09:00 --timestop 17:00 --weekdays Mon,Tue,Wed,Thu,Fri", "time");
    expect(p.save).toBe(" -m time --timestart 09:00:00 --timestop 17:00:00 --weekdays Mon,Tue,Wed,Thu,Fri --datestop 2038-01-19T03:14:07");
    expect(p.L.endsWith("TIME from 09:00:00 to 17:00:00 on Mon,Tue,Wed,Thu,Fri UTC")).toBe(true);
    const u = printed("-m time --utc", "time");
    expect(u.save).toBe(" -m time --datestop 2038-01-19T03:14:07");
    expect(u.L.endsWith("TIME UTC")).toBe(true);
  });
  it("month days, dates, --kerneltz and --contiguous; a negated list is the days left", () => {
    const p = printed("-m time --datestart 2020-01-02T03:04:05 --monthdays 1,2,3,22,31 --kerneltz", "time");
    expect(p.save).toBe(" -m time --monthdays 1,2,3,22,31 --datestart 2020-01-02T03:04:05 --datestop 2038-01-19T03:14:07 --kerneltz");
    expect(p.L.endsWith("TIME on 1st,2nd,3rd,22nd,31st starting from 2020-01-02 03:04:05")).toBe(true);
    const c = printed("-m time --timestart 22:00 --timestop 02:00 --contiguous ! --weekdays Sat", "time");
    expect(c.save).toBe(" -m time --timestart 22:00:00 --timestop 02:00:00 --weekdays Mon,Tue,Wed,Thu,Fri,Sun --datestop 2038-01-19T03:14:07 --contiguous");
    expect(c.L.endsWith("TIME from 22:00:00 to 02:00:00 on Mon,Tue,Wed,Thu,Fri,Sun UTC contiguous")).toBe(true);
    expect(printed("-m time --weekdays 1,Sunday --datestop 2030", "time").L.endsWith("TIME on Mon,Sun until date 2030-01-01 00:00:00 UTC")).toBe(true);
  });
  it("refuses what iptables refuses", () => {
    expect(bindErrors("-m time --timestart 24:00")[0]).toMatch(/bad value for --timestart/);
    expect(bindErrors("-m time --datestart 1969")[0]).toMatch(/bad value for --datestart/);
    expect(bindErrors("-m time --weekdays 0")[0]).toMatch(/does NOT begin with Sunday/);
    expect(bindErrors("-m time --weekdays Xy")[0]).toMatch(/not a valid day specifier/);
    expect(bindErrors("-m time --monthdays 32")[0]).toMatch(/not a valid day for --monthdays/);
    expect(bindErrors("-m time --timestart 01:00 --timestop 02:00 --contiguous")[0]).toMatch(/--contiguous only makes sense/);
    expect(bindErrors("-m time --utc --kerneltz")[0]).toMatch(/cannot be used together/);
  });
  it("a time restriction is indeterminate; no restriction matches, assuming a time before 2038", () => {
    expect(matchAnswer("-m time --timestart 09:00 --timestop 17:00", "time", {})).toHaveProperty("indeterminate");
    expect(matchAnswer("-m time", "time", {})).toMatchObject({ matched: true });
  });
});
