/**
 * The nftables-mode kube-proxy generator (bench/gen-kube-nft.ts) writes exactly what nft
 * prints: its dump, loaded with `nft -f` into an empty namespace and listed back, is the same
 * text byte for byte, and so is the listing of its `nft -f` script. And it describes the same
 * cluster as the iptables-mode generator, with kube-proxy's own chain names.
 */
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { kubeNftDump, kubeNftScript, nameHash } from "../../bench/gen-kube-nft.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { freshNamespaceName, kernelSkipReason } from "./harness.js";

describe("the kube-proxy nftables generator", () => {
  it("names chains with kube-proxy's hash (its own test's ULMVA6XW, 5OJB2KTY)", () => {
    expect(nameHash("ns1/svc1/tcp/p80")).toBe("ULMVA6XW");
    expect(nameHash("ns1/svc1/tcp/p80__10.180.0.1/80")).toBe("5OJB2KTY");
  });

  it("describes the same services, endpoints and NodePorts as the iptables-mode dump", () => {
    const opts = { services: 40 };
    const ipt = kubeProxyDump(opts);
    const nft = kubeNftDump(opts);
    const of = (re: RegExp, text: string) => new Set([...text.matchAll(re)].map((m) => m[1]!));
    expect(of(/ip daddr (10\.96\.\d+\.\d+) ip saddr/g, nft)).toEqual(of(/-d (10\.96\.\d+\.\d+)\/32 -p tcp/g, ipt));
    expect(of(/dnat to (\S+)/g, nft)).toEqual(of(/--to-destination (\S+)/g, ipt));
    expect(of(/tcp \. (\d+) : goto external-/g, nft)).toEqual(of(/-m tcp --dport (\d+) -j KUBE-EXT-/g, ipt));
    expect(of(/tcp \. (\d+) : goto external-/g, nft).size).toBe(10);
  });

  it("refuses a cluster whose NodePorts would repeat", () => {
    // Service 4 × 2767 = 11068 is the first to get service 0's NodePort 30000 again.
    expect(() => kubeNftDump({ services: 11_068 })).not.toThrow();
    expect(() => kubeNftDump({ services: 11_069 })).toThrow(/NodePort 30000 repeats at service 11068/);
  });
});

const why = kernelSkipReason();

describe.skipIf(why !== undefined)(`the generated ruleset as nft lists it${why ? ` (skipped: ${why})` : ""}`, () => {
  let ns: string | undefined;
  afterEach(() => {
    if (ns) spawnSync("ip", ["netns", "del", ns]);
    ns = undefined;
  });

  function loadAndList(text: string): string {
    ns = freshNamespaceName();
    const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
    if (add.status !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr}`);
    const load = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: text, encoding: "utf8" });
    expect(load.stderr).toBe("");
    expect(load.status).toBe(0);
    const list = spawnSync("ip", ["netns", "exec", ns, "nft", "list", "ruleset"], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(list.status).toBe(0);
    return list.stdout;
  }

  // 3 services is the brief's case; 300 with 4 endpoints crosses address and port byte
  // boundaries, so the element order and line wrapping of every set and map are exercised.
  it.each([
    { services: 3 },
    { services: 300, endpointsPerService: 4 },
  ])("dump of %o: loaded and listed back, identical", (opts) => {
    const dump = kubeNftDump(opts);
    expect(loadAndList(dump)).toBe(dump);
  });

  it.each([{ services: 3 }, { services: 300, endpointsPerService: 4 }])("script of %o: loaded and listed, the dump", (opts) => {
    expect(loadAndList(kubeNftScript(opts))).toBe(kubeNftDump(opts));
  });
});
