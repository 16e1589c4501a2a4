/** -m cgroup: class id in decimal, path quoted (checked with iptables 1.8.9), errors, evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, matchAnswer, printed } from "../support/extension-roundtrip.js";

describe("-m cgroup", () => {
  it("prints the class id in decimal and the path quoted", () => {
    const p = printed("-m cgroup --cgroup 0x100001", "cgroup");
    expect(p.save).toBe(" -m cgroup --cgroup 1048577");
    expect(p.L.endsWith("cgroup 1048577")).toBe(true);
    const n = printed("-m cgroup ! --cgroup 5", "cgroup");
    expect(n.save).toBe(" -m cgroup ! --cgroup 5");
    expect(n.L.endsWith("cgroup ! 5")).toBe(true);
    const path = printed("-m cgroup ! --path /", "cgroup");
    expect(path.save).toBe(' -m cgroup ! --path "/"');
    expect(path.L.endsWith("cgroup ! /")).toBe(true);
  });
  it("refuses what iptables and the kernel refuse", () => {
    expect(bindErrors("-m cgroup --path / --cgroup 7")[0]).toMatch(/refuses --path together with --cgroup/);
    expect(bindErrors("-m cgroup")[0]).toMatch(/--cgroup or --path is required/);
    expect(bindErrors("-m cgroup --cgroup x")[0]).toMatch(/bad --cgroup/);
  });
  it("no socket before routing or when forwarding; else the socket's cgroup is not known", () => {
    expect(matchAnswer("-m cgroup --cgroup 1", "cgroup", {}, "ipv4", "FORWARD")).toBe(false);
    expect(matchAnswer("-m cgroup ! --cgroup 1", "cgroup", {}, "ipv4", "PREROUTING")).toBe(false);
    expect(matchAnswer("-m cgroup --cgroup 1", "cgroup", {}, "ipv4", "OUTPUT")).toHaveProperty("indeterminate");
  });
});
