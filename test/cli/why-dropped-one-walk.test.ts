/**
 * why-dropped walks a dropped packet once: one walk that goes by the chains' indexes and records
 * the rules it tries gives the same words as the walk that tries every rule, wherever the table
 * that dropped it has no chain long enough for an index. Where it has one (the index skips rules
 * that are near misses), the walk that tries every rule runs too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { NetfilterNode, buildNode } from "../../src/netfilter/model.js";
import { parseRules } from "../../src/parse.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { parsePacketText } from "../../src/packet/parse.js";
import { whyDroppedText } from "../../src/explain/text.js";
import { PLAIN } from "../../src/explain/colour.js";
import { runCli } from "../support/cli-in-process.js";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "netfate-one-walk-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const facts = ["--iface", "eth0=192.168.0.11/24", "--iface", "cni0=10.244.0.1/16"];
const head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/** why-dropped's text and how many walks it made (each an evaluate of the node). */
async function whyDropped(args: string[]): Promise<{ out: string; code: number; walks: number }> {
  const walks = vi.spyOn(NetfilterNode.prototype, "evaluate");
  const r = await runCli(["why-dropped", "-q", ...args]);
  const n = walks.mock.calls.length;
  walks.mockRestore();
  return { out: r.out, code: r.code, walks: n };
}

describe("why-dropped of a dropped packet", () => {
  it("walks it once where the table that dropped it has no long chain", async () => {
    const rules = file("short.save", `${head}-A FORWARD -i cni0 -j ACCEPT\n-A FORWARD -d 10.244.0.0/16 -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n`);
    const r = await whyDropped(["--rules", rules, ...facts, "tcp 192.168.0.50:40000 -> 10.244.3.9:80 in eth0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("nearly let through by:\n    -A FORWARD -i cni0 -j ACCEPT\n      failed: -i cni0\n    -A FORWARD -d 10.244.0.0/16");
    expect(r.walks).toBe(1);
  });

  it("walks every rule too where a long chain's index skips near misses, which it then names", async () => {
    const long = Array.from({ length: 40 }, (_, i) => `-A LONG -d 10.244.${i + 1}.1/32 -p tcp -m tcp --dport 443 -j ACCEPT\n`).join("");
    const rules = file("long.save", `${head}:LONG - [0:0]\n-A FORWARD -j LONG\n${long}COMMIT\n`);
    const r = await whyDropped(["--rules", rules, ...facts, "tcp 192.168.0.50:40000 -> 10.244.3.9:80 in eth0"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("-A LONG -d 10.244.40.1/32 -p tcp -m tcp --dport 443 -j ACCEPT\n      failed: -d 10.244.40.1/32");
    expect(r.walks).toBe(2);
  });

  it("says, for the samples' packets, what the walk that tries every rule says", async () => {
    const dirs = ["host-firewall", "kube-proxy-basic", "004-kube-proxy-nodeport"];
    let lost = 0;
    for (const d of dirs) {
      const rulesFile = resolve(root, "samples", d, "rules.save");
      const nodeFile = resolve(root, "samples", d, "node.json");
      const node = buildNode({ rulesets: [parseRules(readFileSync(rulesFile, "utf8")).value], node: nodeViewFromFacts(factsFromTexts([{ text: readFileSync(nodeFile, "utf8"), file: nodeFile }]).facts) });
      const packets = (JSON.parse(readFileSync(resolve(root, "samples", d, "packets.json"), "utf8")) as Array<{ packet: unknown }>)
        .map((p) => p.packet).filter((p): p is string => typeof p === "string");
      // A packet the samples drop in a table of short chains, and one a service without endpoints rejects.
      if (d === "kube-proxy-basic") packets.push("tcp 192.168.0.50:40000 -> 10.96.200.1:80 in eth0");
      for (const p of packets) {
        const r = await whyDropped(["--rules", rulesFile, "--node", nodeFile, p]);
        const parsed = parsePacketText(p);
        if (!parsed.ok) throw new Error(`${p}: ${parsed.error}`);
        const every = whyDroppedText(node.evaluate(parsed.packet, { verbose: true }), { palette: PLAIN, width: 80 });
        expect(r.out, `${d}: ${p}`).toBe(every);
        if (r.code === 1) lost++;
      }
    }
    expect(lost).toBeGreaterThanOrEqual(3);
  });
});
