/**
 * flannel's UDP backend on the receiving node, in the kernel: flanneld writes the inner packet
 * it took out of the UDP datagram into its TUN device (flannel0), and the packet enters
 * PREROUTING with IN=flannel0, as the decapsulator says. A TUN device that is down takes
 * nothing (the write fails with EIO), which is why the node view leaves a device known to be
 * down out. A small Python writer stands in for flanneld's udp_to_tun.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { kernelSkipReason } from "./harness.js";
import { run } from "./tunnel-netns.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";

const why = kernelSkipReason();
const NS = `nftunT${process.pid}`;


/** Opens flannel0 as flanneld does (IFF_TUN | IFF_NO_PI), writes one UDP packet 10.1.63.5 → 10.1.9.7 while it is down, brings it up, writes it again. */
const WRITER = String.raw`
import fcntl, os, socket, struct, subprocess
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"flannel0", 0x0001 | 0x1000))
def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
udp = struct.pack("!HHHH", 4000, 53, 9, 0) + b"x"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton("10.1.63.5"), socket.inet_aton("10.1.9.7"))
ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
for up in (False, True):
    if up: subprocess.run(["ip", "link", "set", "flannel0", "up"], check=True)
    try: os.write(fd, ip + udp)
    except OSError as e: print("write while %s: %s" % ("up" if up else "down", e.strerror))
`;

describe.skipIf(why !== undefined)(`flannel's UDP backend: the TUN device on receive${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(() => {
    run(["ip", "netns", "add", NS]);
    run(["ip", "-n", NS, "link", "set", "lo", "up"]);
    run(["ip", "netns", "exec", NS, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", "flannel0", "-s", "10.1.63.5", "-p", "udp", "--dport", "53"]);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
  });

  it("a packet written into flannel0 enters PREROUTING with IN=flannel0 only while the device is up", () => {
    expect(run(["ip", "netns", "exec", NS, "python3", "-c", WRITER])).toBe("write while down: Input/output error\n");
    const lines = run(["ip", "netns", "exec", NS, "iptables", "-t", "raw", "-L", "PREROUTING", "-v", "-n", "-x"]).trim().split("\n");
    expect(Number(lines[2]!.trim().split(/\s+/)[0])).toBe(1);
    // The node view of such a node: flannel0 takes flanneld's port apart when up, nothing when down.
    const facts = (up: boolean) => factsFromTexts([{ file: "node.json", text: JSON.stringify({ interfaces: [
      { name: "eth0", addrs: ["192.168.1.12/24"] },
      { name: "flannel0", kind: "tun", addrs: ["10.1.9.0/16"], udp: { local: "192.168.1.12" } },
    ] }) }, { file: "ip.txt", text: `5: flannel0: <POINTOPOINT,MULTICAST,NOARP${up ? ",UP,LOWER_UP" : ""}> mtu 1472 qdisc fq_codel state ${up ? "UNKNOWN" : "DOWN"} group default qlen 500\n` }]).facts;
    const outer = { family: "ipv4" as const, proto: 17, dst: "192.168.1.12", dport: 8285 };
    expect(nodeViewFromFacts(facts(true)).decapsulator!(outer)).toEqual({ dev: "flannel0", kind: "udp" });
    expect(nodeViewFromFacts(facts(false)).decapsulator!(outer)).toBeUndefined();
  });
});
