/**
 * `netfate collect` on a node with a native nftables table (as kube-proxy's nftables mode or
 * firewalld make): the bundle holds `nft -j list ruleset` as nftables.json and the same ruleset
 * as text in nftables.nft, the manifest says what each holds, and --bundle reads the JSON (the
 * text is for people and is not read).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundle } from "../../src/cli/bundle.js";
import { COLLECTED } from "../../src/cli/commands/collect.js";
import { freshNamespaceName, kernelSkipReason } from "./harness.js";

const why = kernelSkipReason();
const bin = resolve(import.meta.dirname, "../../dist/src/cli/main.js");

/** A small native table of the kube-proxy shape: a verdict map, a base chain, a service chain. */
const NATIVE = `table ip kube-proxy {
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.10 . tcp . 80 : goto service-a }
	}

	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr . meta l4proto . th dport vmap @service-ips
	}

	chain service-a {
		numgen random mod 1 vmap { 0 : goto endpoint-a }
	}

	chain endpoint-a {
		meta l4proto tcp dnat to 10.244.0.5:8080
	}
}
`;

describe("collect's nftables entries", () => {
  it("gathers nft -j list ruleset and nft list ruleset, neither required, each saying what it holds", () => {
    expect(COLLECTED.find((c) => c.file === "nftables.json")).toMatchObject({ command: ["nft", "-j", "list", "ruleset"], required: false, holds: expect.stringMatching(/JSON/) });
    expect(COLLECTED.find((c) => c.file === "nftables.nft")).toMatchObject({ command: ["nft", "list", "ruleset"], required: false, holds: expect.stringMatching(/not read/) });
  });
});

describe.skipIf(why !== undefined)(`collect on a node with a native nftables table${why ? ` (skipped: ${why})` : ""}`, () => {
  let ns: string;
  let dir: string;
  let run: ReturnType<typeof spawnSync>;
  beforeAll(() => {
    ns = freshNamespaceName();
    const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
    if (add.status !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr}`);
    const load = spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: NATIVE, encoding: "utf8" });
    if (load.status !== 0) throw new Error(`nft -f: ${load.stderr}`);
    // An iptables rule too, so that the bundle is one --bundle reads (it needs iptables rules).
    const ipt = spawnSync("ip", ["netns", "exec", ns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"], { encoding: "utf8" });
    if (ipt.status !== 0) throw new Error(`iptables: ${ipt.stderr}`);
    dir = join(mkdtempSync(join(tmpdir(), "netfate-nft-bundle-")), "bundle");
    run = spawnSync("ip", ["netns", "exec", ns, process.execPath, bin, "collect", dir], { encoding: "utf8" });
  });
  afterAll(() => {
    if (ns) spawnSync("ip", ["netns", "del", ns]);
    if (dir) rmSync(resolve(dir, ".."), { recursive: true, force: true });
  });

  it("writes nftables.json with the native table, its map and its rules", () => {
    expect(run.status, String(run.stderr)).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, "nftables.json"), "utf8")) as { nftables: Array<Record<string, { family?: string; name?: string; table?: string; chain?: string }>> };
    const objects = json.nftables;
    expect(objects.some((o) => o.table?.family === "ip" && o.table?.name === "kube-proxy")).toBe(true);
    expect(objects.some((o) => o.map?.name === "service-ips")).toBe(true);
    expect(objects.filter((o) => o.rule?.table === "kube-proxy").map((o) => o.rule!.chain)).toEqual(["nat-prerouting", "service-a", "endpoint-a"]);
    // iptables-nft's own table is in it too: the manifest says so.
    expect(objects.some((o) => o.table?.family === "ip" && o.table?.name === "filter")).toBe(true);
  });

  it("writes the same ruleset as text in nftables.nft", () => {
    const text = readFileSync(join(dir, "nftables.nft"), "utf8");
    expect(text).toContain("table ip kube-proxy {");
    expect(text).toContain("numgen random mod 1 vmap { 0 : goto endpoint-a }");
  });

  it("says in the manifest which command made each file and what it holds", () => {
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { entries: Array<{ file?: string; command: string[]; exit: number; bytes?: number; holds?: string }> };
    const json = manifest.entries.find((e) => e.file === "nftables.json");
    expect(json).toMatchObject({ command: ["nft", "-j", "list", "ruleset"], exit: 0, bytes: readFileSync(join(dir, "nftables.json")).length });
    expect(json!.holds).toMatch(/iptables-nft/);
    expect(manifest.entries.find((e) => e.file === "nftables.nft")).toMatchObject({ command: ["nft", "list", "ruleset"], exit: 0, holds: expect.stringMatching(/for people/) });
    // Files without a note of their own carry none.
    expect(manifest.entries.find((e) => e.file === "iptables-save.txt")!.holds).toBeUndefined();
  });

  it("--bundle reads the JSON with the rules (the nftables reader takes it) and leaves the text alone", () => {
    const read: string[] = [];
    const texts = readBundle(dir, (path) => {
      read.push(path);
      return readFileSync(path, "utf8");
    });
    expect(texts.rules.map((t) => t.file)).toContain(join(dir, "nftables.json"));
    expect(read).not.toContain(join(dir, "nftables.nft"));
    expect(texts.rules.map((t) => t.file)).toContain(join(dir, "iptables-save.txt"));
  });
});
