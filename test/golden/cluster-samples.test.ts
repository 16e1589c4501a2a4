/**
 * Every sample's cluster-packets.json: the packet across the sample's cluster (its
 * cluster.json), checked hop by hop — each place, what the node did there, the tunnel's outer
 * packet, every rewrite the sample names — and the fate of the request and of its reply. The
 * same through the binary: the JSON validates against the schema, and why-dropped's exit code
 * says whether the connection works.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { loadCluster } from "../../src/cli/cluster-load.js";
import { buildCluster } from "../../src/netfilter/cluster.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { ClusterOutcome, Place } from "../../src/model/cluster.js";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const validate = new Ajv2020.default({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(resolve(root, "src/explain/trace.schema.json"), "utf8")),
);

interface Expected {
  fate: string;
  at: string;
  hops?: string[];
  outer?: Record<string, unknown>;
  /** Rewrites the way makes, in order, as the steps say them. */
  rewrites?: string[];
  /** Text the fate's reason (or the reply-lost reason) must contain. */
  reason?: string;
  parted?: string;
  reply?: Expected;
}

interface Entry {
  name: string;
  cluster?: string;
  at?: string;
  packet: string;
  /** Several ways: each expected in order (default: one). */
  expected: Expected | Expected[];
  whyDroppedExit?: number;
}

const placeName = (p: Place) => (p.pod !== undefined ? `${p.node}/${p.pod}` : p.node);

/** A hop as the samples write it: `node-01 outer: sent eth0`. */
function hopText(h: ClusterOutcome["hops"][number]): string {
  const f = h.outcome.fate;
  const where = h.at.pod !== undefined ? `pod ${h.at.pod}` : h.at.node;
  return `${where}${h.depth > 0 ? " outer" : ""}: ${f.kind}${"iface" in f && f.iface && f.kind !== "delivered" ? ` ${f.iface}` : ""}${f.kind === "delivered" && h.packet.from !== "local" ? ` ${h.packet.from}` : ""}`;
}

function check(o: ClusterOutcome, e: Expected): void {
  expect(o.fate.kind, JSON.stringify(o.fate)).toBe(e.fate);
  expect(placeName(o.at)).toBe(e.at);
  if (e.hops) expect(o.hops.map(hopText)).toEqual(e.hops);
  if (e.outer) expect(o.hops.find((h) => h.depth > 0)?.packet).toMatchObject(e.outer);
  if (e.rewrites) expect(o.hops.flatMap((h) => h.outcome.steps.flatMap((s) => s.rewrites ?? []))).toEqual(e.rewrites);
  if (e.reason) expect(JSON.stringify(o.fate)).toContain(e.reason);
  if (e.parted) expect(o.fate.kind === "reply-lost" ? o.fate.parted : undefined).toContain(e.parted);
  if (e.reply) {
    expect(o.reply, "the reply is followed").toBeDefined();
    expect(o.reply!).toHaveLength(1);
    check(o.reply![0]!, e.reply);
  }
}

const samples = readdirSync(resolve(root, "samples")).filter((d) => existsSync(resolve(root, "samples", d, "cluster-packets.json")));

describe("cluster samples", () => {
  it("the seeds that cross nodes are cluster samples", () => {
    for (const seed of ["000", "001", "002", "003"]) expect(samples.some((s) => s.startsWith(`${seed}-`))).toBe(true);
  });

  for (const sample of samples) {
    const dir = resolve(root, "samples", sample);
    const entries: Entry[] = JSON.parse(readFileSync(resolve(dir, "cluster-packets.json"), "utf8"));
    describe(sample, () => {
      for (const e of entries) {
        const clusterFile = resolve(dir, e.cluster ?? "cluster.json");
        it(e.name, () => {
          const loaded = loadCluster(clusterFile);
          expect(loaded.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
          for (const n of loaded.nodes) expect(n.diagnostics.filter((d) => d.severity === "error"), n.name).toEqual([]);
          const cluster = buildCluster(loaded.inputs);
          const p = parsePacketText(e.packet);
          if (!p.ok) throw new Error(p.error);
          const start = cluster.placeNamed(e.at ?? "");
          if (typeof start === "string") throw new Error(start);
          const ev = cluster.evaluate(p.packet, start, { reply: true });
          const expected = Array.isArray(e.expected) ? e.expected : [e.expected];
          expect(ev.outcomes.map((o) => `${o.fate.kind} at ${placeName(o.at)}`)).toHaveLength(expected.length);
          ev.outcomes.forEach((o, i) => check(o, expected[i]!));
        });

        it(`${e.name} — through the binary`, () => {
          const args = ["--cluster", e.cluster ?? "cluster.json", ...(e.at ? ["--at", e.at] : []), "--reply", "-q"];
          const json = spawnSync(process.execPath, [bin, "trace", "--json", ...args, e.packet], { cwd: dir, encoding: "utf8" });
          expect(json.status, json.stderr).toBe(0);
          const j = JSON.parse(json.stdout);
          expect(validate(j), JSON.stringify(validate.errors)).toBe(true);
          const why = spawnSync(process.execPath, [bin, "why-dropped", ...args, e.packet], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
          const first = Array.isArray(e.expected) ? e.expected[0]! : e.expected;
          const through = (f: string) => f === "delivered" || f === "forwarded" || f === "sent";
          const works = through(first.fate) && (!first.reply || through(first.reply.fate));
          expect(why.status, why.stdout + why.stderr).toBe(e.whyDroppedExit ?? (works ? 0 : 1));
        });
      }
    });
  }
});
