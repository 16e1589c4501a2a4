/** -m connbytes: the kernel's from/to pair printed back (checked with iptables 1.8.9), errors, evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m connbytes", () => {
  it("prints mode before direction and leaves out a maximal upper bound", () => {
    const p = printed("-m connbytes --connbytes 10000: --connbytes-dir both --connbytes-mode bytes", "connbytes");
    expect(p.save).toBe(" -m connbytes --connbytes 10000 --connbytes-mode bytes --connbytes-dir both");
    expect(p.L.endsWith("connbytes 10000 connbytes mode bytes connbytes direction both")).toBe(true);
    expect(printed("-m connbytes --connbytes :5 --connbytes-dir reply --connbytes-mode avgpkt", "connbytes").save).toBe(
      " -m connbytes --connbytes 0:5 --connbytes-mode avgpkt --connbytes-dir reply",
    );
    expect(printed("-m connbytes --connbytes 18446744073709551615 --connbytes-dir reply --connbytes-mode avgpkt", "connbytes").save).toBe(
      " -m connbytes --connbytes 18446744073709551615 --connbytes-mode avgpkt --connbytes-dir reply",
    );
  });
  it("negation is a swapped pair: `!` before the option in save and -L", () => {
    const p = printed("-m connbytes ! --connbytes 10:20 --connbytes-dir original --connbytes-mode packets", "connbytes");
    expect(p.save).toBe(" -m connbytes ! --connbytes 10:20 --connbytes-mode packets --connbytes-dir original");
    expect(p.L.endsWith("! connbytes 10:20 connbytes mode packets connbytes direction original")).toBe(true);
    expect(printed("-m connbytes ! --connbytes 7 --connbytes-dir both --connbytes-mode bytes", "connbytes").save).toBe(" -m connbytes ! --connbytes 7 --connbytes-mode bytes --connbytes-dir both");
  });
  it("refuses what iptables refuses", () => {
    expect(bindErrors("-m connbytes --connbytes 1")[0]).toMatch(/--connbytes-dir, --connbytes-mode required/);
    expect(bindErrors("-m connbytes --connbytes 1 --connbytes-dir up --connbytes-mode bytes")[0]).toMatch(/Unknown --connbytes-dir `up'/);
    expect(bindErrors("-m connbytes --connbytes 1 --connbytes-dir both --connbytes-mode bits")[0]).toMatch(/Unknown --connbytes-mode `bits'/);
    expect(bindErrors("-m connbytes --connbytes x --connbytes-dir both --connbytes-mode bytes")[0]).toMatch(/bad --connbytes/);
    expect(bindErrors("-m connbytes --connbytes 18446744073709551616 --connbytes-dir both --connbytes-mode bytes")[0]).toMatch(/bad --connbytes/);
  });
  it("is indeterminate: connection counters are not in the inputs", () => {
    expect(matchAnswer("-m connbytes --connbytes 10 --connbytes-dir both --connbytes-mode bytes", "connbytes", {})).toHaveProperty("indeterminate");
  });
});
