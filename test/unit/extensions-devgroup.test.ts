/** -m devgroup: hex printing, Debian's group names (checked with iptables 1.8.9), indeterminate evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, printed } from "../support/extension-roundtrip.js";
import { ruleDrops } from "../support/rule-verdict.js";
import { simpleNode } from "../support/simple-node.js";

describe("-m devgroup", () => {
  it("prints groups in hex, with a mask when not all ones", () => {
    expect(printed("-m devgroup --src-group 1", "devgroup").save).toBe(" -m devgroup --src-group 0x1");
    const p = printed("-m devgroup ! --src-group 0x2/0xf", "devgroup");
    expect(p.save).toBe(" -m devgroup ! --src-group 0x2/0xf");
    expect(p.L.endsWith("! src-group 0x2/0xf")).toBe(true);
    const f = printed("-m devgroup --src-group 1 --dst-group 2", "devgroup", "ipv4", "FORWARD");
    expect(f.save).toBe(" -m devgroup --src-group 0x1 --dst-group 0x2");
    expect(f.L.endsWith("src-group 0x1 dst-group 0x2")).toBe(true);
  });
  it("group 0 is `default` (Debian's /etc/iproute2/group) in save and -L, 0x0 in -nL", () => {
    const p = printed("-m devgroup --src-group 0 ! --dst-group 0x10/0xff", "devgroup", "ipv4", "FORWARD");
    expect(p.save).toBe(" -m devgroup --src-group default ! --dst-group 0x10/0xff");
    expect(p.L.endsWith("src-group default ! dst-group 0x10/0xff")).toBe(true);
    expect(p.nL.endsWith("src-group 0x0 ! dst-group 0x10/0xff")).toBe(true);
    expect(printed("-m devgroup --src-group default", "devgroup").save).toBe(" -m devgroup --src-group default");
  });
  it("refuses what iptables refuses", () => {
    expect(bindErrors("-m devgroup")[0]).toMatch(/You must specify either/);
    expect(bindErrors("-m devgroup --src-group default/0xff")[0]).toMatch(/could not map name default\/0xff/);
    expect(bindErrors("-m devgroup --src-group lan")[0]).toMatch(/could not map name lan/);
  });
  it("is indeterminate: node facts do not give device groups", () => {
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [] });
    const packet = { family: "ipv4" as const, from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
    expect(ruleDrops({ spec: "-m devgroup --src-group 1", packet, node })).toBe("indeterminate");
  });
});
