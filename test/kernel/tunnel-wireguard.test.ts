/**
 * WireGuard both ways in a pair of network namespaces. This kernel has no wireguard module, so
 * the devices are wireguard-go's (userspace, on a TUN device; `wg` configures and dumps it over
 * the same interface): what they show is WireGuard's protocol — the peer chosen by the allowed
 * IPs of the destination, the outer packet from the listen port to the peer's endpoint with the
 * device's fwmark, the inner packet entering PREROUTING with IN= the device, and the receive
 * side's allowed-IPs check on the inner source (as drivers/net/wireguard/receive.c does it) —
 * not the kernel module's code. netfate reads the live `wg show all dump` and must say the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelSkipReason } from "./harness.js";
import { counted, dropNamespaces, inNs, ipn, nodePair, run } from "./tunnel-netns.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import type { NodeView } from "../../src/model/evaluation.js";

const kernelWhy = kernelSkipReason();
const haveTools = ["wg", "wireguard-go"].every((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0);
const why = kernelWhy ?? (haveTools ? undefined : "wg or wireguard-go is not installed (apt-get install wireguard-tools wireguard-go)");
const A = `nfwgA${process.pid}`;
const B = `nfwgB${process.pid}`;
/** Device names are global here: wireguard-go's control sockets live in /var/run/wireguard. */
const DEV_A = `wgA${process.pid % 100000}`;
const DEV_B = `wgB${process.pid % 100000}`;


/** A UDP datagram from A to 10.0.0.2:9999, from `src` when given. */
function send(src?: string): void {
  inNs(A, "python3", "-c", `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)${src ? `; s.bind(("${src}", 0))` : ""}; s.sendto(b"x", ("10.0.0.2", 9999))`);
}

/** Waits (polling, no fixed sleep) until `f` holds or two seconds pass. */
function until(f: () => boolean): boolean {
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    if (f()) return true;
    spawnSync("sleep", ["0.05"]);
  }
  return f();
}

describe.skipIf(why !== undefined)(`WireGuard between two nodes (wireguard-go)${why ? ` (skipped: ${why})` : ""}`, () => {
  const daemons: ChildProcess[] = [];
  let a: NodeView;
  let b: NodeView;
  beforeAll(() => {
    nodePair({ ns: A, dev: "wva", addr: "192.168.1.11/24" }, { ns: B, dev: "wvb", addr: "192.168.1.12/24" });
    const dir = mkdtempSync(join(tmpdir(), "netfate-wg-"));
    const keys: Record<string, { priv: string; pub: string }> = {};
    for (const [ns, dev] of [[A, DEV_A], [B, DEV_B]] as const) {
      const priv = run(["wg", "genkey"]).trim();
      const file = join(dir, dev);
      writeFileSync(file, priv + "\n", { mode: 0o600 });
      keys[dev] = { priv: file, pub: spawnSync("wg", ["pubkey"], { input: priv, encoding: "utf8" }).stdout.trim() };
      // Foreground, so the process is ours to end by its id.
      daemons.push(spawn("ip", ["netns", "exec", ns, "wireguard-go", "-f", dev], { stdio: "ignore" }));
    }
    expect(until(() => spawnSync("ip", ["-n", A, "link", "show", DEV_A]).status === 0 && spawnSync("ip", ["-n", B, "link", "show", DEV_B]).status === 0)).toBe(true);
    expect(until(() => spawnSync("ip", ["netns", "exec", A, "wg", "show", DEV_A]).status === 0 && spawnSync("ip", ["netns", "exec", B, "wg", "show", DEV_B]).status === 0)).toBe(true);
    inNs(A, "wg", "set", DEV_A, "listen-port", "51820", "private-key", keys[DEV_A]!.priv, "fwmark", "0xca6c", "peer", keys[DEV_B]!.pub, "endpoint", "192.168.1.12:51821", "allowed-ips", "10.0.0.2/32,10.244.2.0/24");
    inNs(B, "wg", "set", DEV_B, "listen-port", "51821", "private-key", keys[DEV_B]!.priv, "peer", keys[DEV_A]!.pub, "endpoint", "192.168.1.11:51820", "allowed-ips", "10.0.0.1/32");
    for (const [ns, dev, addr] of [[A, DEV_A, "10.0.0.1/24"], [B, DEV_B, "10.0.0.2/24"]] as const) {
      ipn(ns, "addr", "add", addr, "dev", dev);
      ipn(ns, "link", "set", dev, "up");
    }
    // A source B's peer entry for A does not allow.
    ipn(A, "addr", "add", "10.9.9.9/32", "dev", DEV_A);
    // A: the outer packets, by their mark, ports and destination. B: the outer packets from A, and the inner ones on the device.
    inNs(A, "iptables", "-t", "mangle", "-A", "OUTPUT", "-o", "wva", "-p", "udp", "-d", "192.168.1.12", "--sport", "51820", "--dport", "51821", "-m", "mark", "--mark", "0xca6c");
    inNs(B, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", "wvb", "-p", "udp", "-s", "192.168.1.11", "--sport", "51820", "--dport", "51821");
    inNs(B, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", DEV_B, "-p", "udp", "--dport", "9999", "-s", "10.0.0.1");
    inNs(B, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", DEV_B, "-p", "udp", "--dport", "9999", "-s", "10.9.9.9");
    const viewOf = (ns: string) => {
      const { facts, diagnostics } = factsFromTexts([
        { file: "ip-addr.json", text: ipn(ns, "-j", "addr") },
        { file: "ip-link.json", text: ipn(ns, "-d", "-j", "link", "show") },
        // Both daemons' sockets are visible from either namespace: the dump lists both devices.
        { file: "wg-dump.txt", text: inNs(ns, "wg", "show", "all", "dump") },
      ]);
      expect(diagnostics).toEqual([]);
      return nodeViewFromFacts(facts);
    };
    a = viewOf(A);
    b = viewOf(B);
  });
  afterAll(() => {
    for (const d of daemons) if (d.pid !== undefined && d.exitCode === null) d.kill();
    dropNamespaces(A, B);
  });

  it("the outer packet is what netfate says: the peer's endpoint, from the listen port, with the fwmark", () => {
    const t = a.tunnel(DEV_A)!;
    expect(t).toMatchObject({ kind: "wireguard", outerProto: 17, outerSport: 51820, outerDport: 51821, outerMark: 0xca6c });
    expect(t.outerPackets!(undefined, "10.0.0.2")).toEqual([{ dst: "192.168.1.12", dport: 51821, sport: 51820 }]);
    expect(t.outerPackets!(undefined, "10.0.0.3")).toEqual({ dropped: expect.stringContaining("no peer's allowed IPs hold 10.0.0.3") });
    send();
    expect(until(() => counted(A, "mangle", "OUTPUT", 1) > 0 && counted(B, "raw", "PREROUTING", 1) > 0)).toBe(true);
  });

  it("B takes it apart on its device (IN= the device), and drops an inner source the sending peer may not use", () => {
    expect(b.decapsulator!({ family: "ipv4", proto: 17, dst: "192.168.1.12", dport: 51821 })).toEqual({ dev: DEV_B, kind: "wireguard" });
    const t = b.tunnel(DEV_B)!;
    expect(t.acceptsInner!("10.0.0.1", "192.168.1.11")).toBe(true);
    expect(t.acceptsInner!("10.9.9.9", "192.168.1.11")).toBe(false);
    const before = [counted(B, "raw", "PREROUTING", 2), counted(B, "raw", "PREROUTING", 3)];
    send();
    expect(until(() => counted(B, "raw", "PREROUTING", 2) === before[0]! + 1), "the allowed inner packet on B's device").toBe(true);
    // The refused one never shows: an allowed packet sent after it shows first, then look.
    send("10.9.9.9");
    send();
    expect(until(() => counted(B, "raw", "PREROUTING", 2) === before[0]! + 2), "the allowed packet sent after the refused one").toBe(true);
    expect(counted(B, "raw", "PREROUTING", 3)).toBe(before[1]);
  });
});
