/**
 * An arriving IPv6 multicast packet (src/netfilter/multicast-groups.ts): what the kernel's own
 * memberships decide, and what the node facts leave open. The kernel's paths are compared in
 * test/kernel/ipv6-multicast.test.ts; these are the cases a namespace cannot leave unsaid.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "netfate-mc6-"));
const file = join(dir, "input.nft");
const sysctl = (v: number) => {
  const f = join(dir, `forwarding-${v}.conf`);
  writeFileSync(f, `net.ipv6.conf.all.forwarding = ${v}\n`);
  return ["--node", f];
};
writeFileSync(file, "table ip6 filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n");
const node = ["--rules", file, "--iface", "eth0=2001:db8::11/64", "--route", "default via 2001:db8::1 dev eth0"];
const trace = (extra: string[], packet: string) => runCli(["trace", ...node, ...extra, packet]);

describe("an IPv6 multicast packet arriving at the node", () => {
  it("all-nodes is delivered", async () => {
    const r = await trace([], "udp [fe80::5]:40000 -> [ff02::1]:5353 in eth0");
    expect(r.out).toMatch(/delivered locally \(arrived on eth0\)/);
  });

  it("a group no program is known to have joined is dropped, said as an assumption", async () => {
    const r = await trace([], "udp [fe80::5]:40000 -> [ff02::fb]:5353 in eth0");
    expect(r.out).toMatch(/martian destination: ff02::fb is a multicast group this node has not joined on eth0/);
    expect(r.out).toContain("multicast group ff02::fb assumed not joined on eth0: the node facts do not list group memberships (ip maddr)");
  });

  it("all-routers depends on forwarding: open when not given, delivered when on, dropped when off", async () => {
    const open = await trace([], "udp [fe80::5]:40000 -> [ff02::2]:5353 in eth0");
    expect(open.out).toMatch(/indeterminate: .*only while it forwards: net\.ipv6\.conf\.all\.forwarding not given/);
    const on = await trace(sysctl(1), "udp [fe80::5]:40000 -> [ff02::2]:5353 in eth0");
    expect(on.out).toMatch(/delivered locally/);
    const off = await trace(sysctl(0), "udp [fe80::5]:40000 -> [ff02::2]:5353 in eth0");
    expect(off.out).toMatch(/not joined on eth0/);
  });

  it("interface-local multicast never arrives from the wire", async () => {
    const r = await trace([], "udp [fe80::5]:40000 -> [ff01::1]:5353 in eth0");
    expect(r.out).toMatch(/ff01::1 is interface-local multicast, which the kernel drops as it arrives on eth0/);
  });
});
