// Shown in README.md ("Regression tests for your own rules"); test/readme/readme.test.ts
// checks the README still shows this file as it is.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadNode, packet, packets, reaches } from "netfate/testing";
import "netfate/testing/vitest";

const dir = "samples/004-kube-proxy-nodeport";
const nodeFacts = `${dir}/node.json`;

// Traffic from outside the cluster: any source but the pods' network and the node itself,
// to the node, to a ClusterIP or straight to a pod, on the ports that matter here.
const fromOutside = packets({
  from: "eth0",
  notSrc: ["172.17.0.0/16", "192.168.0.11"],
  dst: ["192.168.0.11", "10.254.198.92", "172.17.0.0/16"],
  proto: ["tcp", "udp"],
  dport: [80, 32110, "30000-32767"],
});

// The property: a packet from outside reaches a pod (leaves by docker0) only when it was
// sent to the NodePort.
const onlyTheNodePort = (node: ReturnType<typeof loadNode>) =>
  fc.property(fromOutside, (p) => {
    const toNodePort = p.proto === 6 && p.dst === "192.168.0.11" && p.dport === 32110;
    return toNodePort || node.evaluate(p).outcomes.every((o) => !reaches(o, "docker0"));
  });

describe("no packet from outside the cluster reaches a pod except through the NodePort", () => {
  it("fails on the node as the post left it: pods are reachable directly", () => {
    const node = loadNode({ rules: `${dir}/rules.save`, node: nodeFacts });
    const run = fc.check(onlyTheNodePort(node), { seed: 7 });
    expect(run.failed).toBe(true);
    expect(run.counterexample?.[0]).toMatchObject({ from: "eth0" });
  });

  it("holds once FORWARD lets only the NodePort's connections through to docker0", () => {
    const node = loadNode({ rules: `${dir}/rules-guarded.save`, node: nodeFacts });
    fc.assert(onlyTheNodePort(node), { seed: 7, numRuns: 2000 });
    // And the NodePort itself still works, to one of three endpoints. This kube-proxy wrote
    // `--probability 0.33332999982`: a third, give or take what the kernel can represent.
    const viaNodePort = node.evaluate(packet("tcp 203.0.113.9:40000 -> 192.168.0.11:32110 in eth0"));
    expect(viaNodePort).toReachWithProbability("docker0", 1);
    expect(viaNodePort).toReachWithProbability("172.17.0.2:80", 1 / 3, 1e-4);
    expect(node.evaluate(packet("tcp 203.0.113.9:40000 -> 172.17.0.2:80 in eth0"))).toBeDroppedBy("FORWARD#4");
  });
});
