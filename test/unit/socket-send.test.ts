/**
 * A packet the node sends to a broadcast or multicast address (src/netfilter/socket-send.ts and
 * the output route's broadcast/multicast marking in node-view.ts). The kernel's answers are
 * pinned with real sockets in test/kernel/socket-send.test.ts; these hold what a namespace
 * cannot show there: IPv6, and the next hop the kernel drops.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "netfate-socket-send-"));
const file = join(dir, "empty.save");
writeFileSync(file, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
const file6 = join(dir, "empty6.nft");
writeFileSync(file6, "table ip6 filter {\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n");
const rules = ["--rules", file];
const node4 = ["--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/24", "--route", "default via 192.168.0.1 dev eth0"];

const trace = (args: string[], packet: string) => runCli(["trace", ...rules, ...args, packet]);

describe("sending to a broadcast or multicast address", () => {
  it("TCP to an IPv6 multicast address is refused at connect(), whatever the routes say", async () => {
    const r = await runCli(["trace", "--rules", file6, "--iface", "eth0=2001:db8::11/64", "tcp [2001:db8::11]:40000 -> [ff02::1]:80 out"]);
    expect(r.out).toMatch(/unroutable: the node cannot open a TCP connection to ff02::1, a multicast address: connect\(\) is refused \(ENETUNREACH\)/);
  });

  // (From a source the node does not hold, a raw socket's: one bound to the node's own address
  // leaves by that address's device, routes or not.)
  it("a multicast packet found by the default route leaves by its device without its next hop", async () => {
    const r = await trace(node4, "udp 10.99.0.5:40000 -> 239.1.1.1:5353 out");
    expect(r.out).toMatch(/sent out eth0\n/);
    expect(r.out).not.toMatch(/via 192\.168\.0\.1/);
  });

  it("a multicast route of its own keeps its next hop", async () => {
    const r = await trace([...node4, "--route", "239.0.0.0/8 via 10.244.0.7 dev cni0"], "udp 10.99.0.5:40000 -> 239.1.1.1:5353 out");
    expect(r.out).toMatch(/sent out cni0 via 10\.244\.0\.7\n/);
  });

  it("a broadcast leaves without a next hop, said to need SO_BROADCAST, its looped-back copy said", async () => {
    const r = await trace(node4, "udp 10.99.0.5:40000 -> 255.255.255.255:67 out");
    expect(r.out).toMatch(/sent out eth0\n/);
    expect(r.out).not.toMatch(/via 192\.168\.0\.1/);
    expect(r.out).toContain("sent by a socket with SO_BROADCAST set (without it the kernel refuses to send to the broadcast address 255.255.255.255: EACCES)");
    expect(r.out).toContain("the kernel also loops a copy back to the node itself (POSTROUTING, then PREROUTING and INPUT on eth0)");
  });

  it("bound to an address of the node, a multicast packet leaves by that address's device", async () => {
    const r = await trace(node4, "udp 10.244.0.1:40000 -> 239.1.1.1:5353 out");
    expect(r.out).toMatch(/sent out cni0\n/);
  });

  it("an ordinary unicast send says nothing of either", async () => {
    const r = await trace(node4, "udp 192.168.0.11:40000 -> 8.8.8.8:53 out");
    expect(r.out).toMatch(/sent out eth0 via 192\.168\.0\.1\n/);
    expect(r.out).not.toMatch(/SO_BROADCAST|loops a copy/);
  });
});
