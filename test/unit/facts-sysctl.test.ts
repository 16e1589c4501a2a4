/**
 * The routing sysctls: the values the kernel holds (pinned in a namespace by
 * test/kernel/sysctl-ranges.test.ts), and keys of interfaces with a dot in their name, which
 * sysctl prints with a slash (net.ipv4.conf.flannel/1.rp_filter).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { factsFromTexts } from "../../src/facts/parse.js";
import { canonicalSysctlKey, confKey, confValue, sysctlValueProblem } from "../../src/facts/sysctl.js";

const fixture = readFileSync(resolve(import.meta.dirname, "../fixtures/node/sysctl-routing.txt"), "utf8");

describe("routing sysctls", () => {
  it("real sysctl output, with an interface named flannel.1 and a key this node lacks", () => {
    const { facts, diagnostics } = factsFromTexts([{ file: "sysctl.txt", text: fixture }]);
    // sysctl's own complaint is said, not taken for a value.
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "warning", line: 10, message: expect.stringContaining("cannot stat /proc/sys/net/ipv4/conf/nosuch/rp_filter") })]);
    expect(facts.sysctl).toEqual({
      "net.ipv4.conf.all.rp_filter": "1",
      "net.ipv4.conf.default.rp_filter": "0",
      "net.ipv4.conf.eth0.rp_filter": "2",
      "net.ipv4.conf.flannel/1.rp_filter": "0",
      "net.ipv4.conf.all.route_localnet": "0",
      "net.ipv4.conf.eth0.route_localnet": "1",
      "net.ipv4.conf.eth0.accept_local": "0",
      "net.ipv4.conf.eth0.forwarding": "0",
      "net.ipv6.conf.eth0.forwarding": "1",
    });
    expect(confValue(facts.sysctl, "ipv4", "flannel.1", "rp_filter")).toBe("0");
    expect(confValue(facts.sysctl, "ipv4", "eth0", "rp_filter")).toBe("2");
    expect(confValue(facts.sysctl, "ipv4", "cni0", "rp_filter")).toBeUndefined();
  });

  it("keys in sysctl's spelling whichever one the input used; both spellings of one key are one key", () => {
    expect(confKey("ipv4", "eth0.100", "rp_filter")).toBe("net.ipv4.conf.eth0/100.rp_filter");
    expect(canonicalSysctlKey("net.ipv4.conf.eth0.100.rp_filter")).toBe("net.ipv4.conf.eth0/100.rp_filter");
    expect(canonicalSysctlKey("net.ipv4.conf.all.rp_filter")).toBe("net.ipv4.conf.all.rp_filter");
    expect(canonicalSysctlKey("net.ipv4.ip_forward")).toBe("net.ipv4.ip_forward");
    const { facts, diagnostics } = factsFromTexts([{ file: "node.json", text: '{"sysctl": {"net.ipv4.conf.flannel.1.rp_filter": 2, "net.ipv4.conf.flannel/1.rp_filter": "2", "net.ipv4.conf.eth0.1.rp_filter": 1, "net.ipv4.conf.eth0/1.rp_filter": 0}}' }]);
    expect(facts.sysctl).toEqual({ "net.ipv4.conf.flannel/1.rp_filter": "2", "net.ipv4.conf.eth0/1.rp_filter": "1" });
    expect(diagnostics).toEqual([expect.objectContaining({ severity: "error", line: 1, col: 132, message: "sysctl net.ipv4.conf.eth0/1.rp_filter given twice with different values (first as net.ipv4.conf.eth0.1.rp_filter)" })]);
    const text = factsFromTexts([{ file: "s.txt", text: "net.ipv4.conf.eth0.100.rp_filter = 1\nnet.ipv4.conf.eth0/100.rp_filter = 2\n" }]);
    expect(text.diagnostics).toEqual([expect.objectContaining({ line: 2, message: expect.stringContaining("given twice with different values (first on line 1)") })]);
  });

  it("rp_filter, route_localnet, accept_local, forwarding: any int, as the kernel holds (not only 0-2)", () => {
    for (const key of ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter", "net.ipv4.conf.eth0.rp_filter", "net.ipv4.conf.all.route_localnet", "net.ipv4.conf.eth0/1.route_localnet",
      "net.ipv4.conf.all.accept_local", "net.ipv4.conf.eth0.accept_local", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.eth0.forwarding", "net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.forwarding", "net.ipv6.conf.eth0.forwarding"]) {
      for (const ok of ["0", "1", "2", "3", "-1", "2147483647", "-2147483648"]) expect([key, ok, sysctlValueProblem(key, ok)]).toEqual([key, ok, undefined]);
      for (const bad of ["2147483648", "banana", "", "1.5"]) expect(sysctlValueProblem(key, bad), `${key} = ${bad}`).toContain("the kernel holds an integer there");
    }
    // Settings netfate does not read are kept as given.
    expect(sysctlValueProblem("net.ipv6.conf.eth0.rp_filter", "banana")).toBeUndefined();
    expect(sysctlValueProblem("net.ipv4.conf.eth0.arp_filter", "banana")).toBeUndefined();
  });
});
