/**
 * End to end on a real node: `netfate collect` inside a network namespace, then `netfate trace
 * --bundle` on what it gathered, compared with the kernel's own trace of the same packet.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KernelNode, kernelSkipReason, NODE_ETH0_CNI0 } from "./harness.js";
import { kernelSteps } from "./compare.js";

const why = kernelSkipReason();
const bin = resolve(import.meta.dirname, "../../dist/src/cli/main.js");

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-X - [0:0]
:KUBE-SEP-A - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -o eth0 -j MASQUERADE
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X -j KUBE-SEP-A
-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 192.168.0.50:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate NEW -p tcp -m tcp --dport 8080 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`;

describe.skipIf(why !== undefined)(`collect on a node, trace from the bundle${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(NODE_ETH0_CNI0);
    k.load(RULES);
  });
  afterAll(() => k?.close());

  it("netfate's answer from the collected bundle is the kernel's path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-bundle-"));
    const c = spawnSync("ip", ["netns", "exec", k.ns, process.execPath, bin, "collect", dir], { encoding: "utf8" });
    expect(c.status, c.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(["iptables-save.txt", "ip-addr.json", "ip-route.json", "sysctl.txt"]));
    const packet = { family: "ipv4" as const, from: "cni0", src: "10.244.0.9", dst: "10.96.0.10", proto: 6, sport: 41000, dport: 80, tcpFlags: 2 };
    const [kt] = await k.trace([packet]);
    expect(kt && kt !== "send-failed").toBe(true);
    const t = spawnSync(process.execPath, [bin, "trace", "--json", "-q", "--bundle", dir, "tcp 10.244.0.9:41000 -> 10.96.0.10:80 in cni0"], { encoding: "utf8" });
    expect(t.status, t.stderr).toBe(0);
    const j = JSON.parse(t.stdout);
    expect(j.outcomes).toHaveLength(1);
    const o = j.outcomes[0];
    expect(o.fate, JSON.stringify(o.fate)).toMatchObject({ kind: "forwarded", iface: "eth0" });
    // The bundle holds the harness's TRACE rules in raw; the kernel's trace leaves them out.
    const ours = o.steps.filter((s: { table: string }) => s.table !== "raw").map((s: { table: string; chain: string; rule: number | string; verdict: string }) =>
      `${s.table} ${s.chain} ${s.rule} ${["DNAT", "MASQUERADE", "SNAT"].includes(s.verdict) ? "ACCEPT" : s.verdict}`);
    if (kt && kt !== "send-failed") expect(ours.join("\n")).toBe(kernelSteps(kt.steps, new Set(["nat", "filter"])).join("\n"));
    expect(o.final).toMatchObject({ src: "192.168.0.11", dst: "192.168.0.50", dport: 8080 });
  });
});
