/** -m connlabel: the label quoted in save, bare in -L (checked with iptables 1.8.9, no connlabel.conf), evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m connlabel", () => {
  it("quotes the bit in save, not in -L", () => {
    const p = printed("-m connlabel --label 1", "connlabel");
    expect(p.save).toBe(' -m connlabel --label "1"');
    expect(p.L.endsWith("connlabel 1")).toBe(true);
    const n = printed("-m connlabel ! --label 3 --set", "connlabel");
    expect(n.save).toBe(' -m connlabel ! --label "3" --set');
    expect(n.L.endsWith("connlabel ! 3 set")).toBe(true);
  });
  it("keeps a name as written (only connlabel.conf could say its bit)", () => {
    expect(printed("-m connlabel --label web", "connlabel").save).toBe(' -m connlabel --label "web"');
  });
  it("refuses a bit past the kernel's 127", () => {
    expect(bindErrors("-m connlabel --label 128")[0]).toMatch(/not found or invalid value/);
    expect(bindErrors("-m connlabel")[0]).toMatch(/--label is required/);
  });
  it("is indeterminate: labels are not in the inputs", () => {
    expect(matchAnswer("-m connlabel --label 1", "connlabel", {})).toHaveProperty("indeterminate");
  });
});

describe("-m connlabel names", () => {
  it("refuses a name its save text could not carry", () => {
    expect(bindErrors('-m connlabel --label "a b"')[0]).toMatch(/not found or invalid value/);
    expect(bindErrors('-m connlabel --label "a\\"b"')[0]).toMatch(/not found or invalid value/);
  });
});
