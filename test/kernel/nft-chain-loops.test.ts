/**
 * A loop of nft jumps and gotos (through a verdict map too): the kernel refuses one a base chain
 * reaches ("Too many links") and takes one no base chain reaches; netfate says so when reading it,
 * and a packet that enters the loop is an error at once, never a walk without end (a goto loop
 * never deepens the call stack). nft 1.0.6 is asked in a namespace of the test's own.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli-in-process.js";

const REACHED = `table inet t {
	map m {
		type ipv4_addr : verdict
		elements = { 10.0.0.1 : goto a }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 goto a
		tcp dport 23 ip daddr vmap @m
		tcp dport 24 jump c
	}
	chain a {
		goto b
	}
	chain b {
		tcp dport 23 ip daddr vmap @m
		goto a
	}
	chain c {
		return
	}
}
`;
const UNREACHED = "table inet u {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 accept\n\t}\n\tchain a {\n\t\tgoto b\n\t}\n\tchain b {\n\t\tgoto a\n\t}\n}\n";

const NS = `netfate-loops-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "netfate-loops-"));
const nftLoads = (text: string): { ok: boolean; err: string } => {
  spawnSync("ip", ["netns", "exec", NS, "nft", "flush", "ruleset"]);
  const r = spawnSync("ip", ["netns", "exec", NS, "nft", "-f", "-"], { input: text, encoding: "utf8" });
  return { ok: r.status === 0, err: r.stderr };
};

beforeAll(() => {
  expect(spawnSync("ip", ["netns", "add", NS]).status).toBe(0);
});
afterAll(() => {
  spawnSync("ip", ["netns", "del", NS]);
  rmSync(dir, { recursive: true, force: true });
});

async function whyDropped(text: string, packet: string) {
  const file = join(dir, `r${Math.random().toString(36).slice(2)}.nft`);
  writeFileSync(file, text);
  return runCli(["why-dropped", "--rules", file, "--iface", "eth0=10.0.0.1/24", packet]);
}

describe("nft chain loops", () => {
  it("a loop a base chain reaches: nft refuses it; netfate says so and a packet entering it is an error", async () => {
    const kernel = nftLoads(REACHED);
    expect(kernel.ok).toBe(false);
    expect(kernel.err).toContain("Too many links");
    const viaGoto = await whyDropped(REACHED, "tcp 10.0.0.9:1000 -> 10.0.0.1:22 in eth0");
    expect(viaGoto.err).toContain("a loop of jumps and gotos: a → b → a");
    expect(viaGoto.out).toContain("goto to chain a, which is on a loop of jumps and gotos");
    expect(viaGoto.code).toBe(3);
    const viaMap = await whyDropped(REACHED, "tcp 10.0.0.9:1000 -> 10.0.0.1:23 in eth0");
    expect(viaMap.out).toContain("which is on a loop of jumps and gotos");
    // A packet that never enters the loop is answered.
    const past = await whyDropped(REACHED, "tcp 10.0.0.9:1000 -> 10.0.0.1:24 in eth0");
    expect(past.out).toContain("Not dropped.");
  });

  it("a loop no base chain reaches: nft takes it, and packets are answered as before", async () => {
    expect(nftLoads(UNREACHED)).toEqual({ ok: true, err: "" });
    const r = await whyDropped(UNREACHED, "tcp 10.0.0.9:1000 -> 10.0.0.1:22 in eth0");
    expect(r.err).toContain("a loop of jumps and gotos");
    expect(r.out).toContain("Not dropped.");
    expect((await whyDropped(UNREACHED, "tcp 10.0.0.9:1000 -> 10.0.0.1:80 in eth0")).out).toContain("Dropped.");
  });
});
