/**
 * Every packet of every sample through the real binary, as a user runs it from the sample's
 * directory: `trace --json` validates against the documented schema and gives the fate the
 * sample expects, `why-dropped` exits 1 exactly when some outcome drops or rejects, and the
 * text trace is held by a snapshot.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const validate = new Ajv2020.default({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(resolve(root, "src/explain/trace.schema.json"), "utf8")),
);

interface Entry {
  name: string;
  packet: string;
  rules?: string;
  node?: string;
  expected: { fate?: string } | null;
}

/** Each sample's inputs, as its README runs them; an entry may name its own rules or node file. */
const INPUTS: Record<string, (e: Entry) => string[]> = {
  "000-calico-ipip-ipvs-policy": () => ["--rules", "filter.save", "--rules", "nat.save", "--ipsets", "ipsets.save", "--node", "node.json", "--ipvs", "ipvsadm.txt"],
  "001-flannel-udp-clusterip-from-node": (e) => ["--rules", e.rules!, "--node", "worker-node.json", "--node", "worker-route-n.txt"],
  "002-flannel-vxlan-pod-to-pod": () => ["--rules", "../empty.save", "--node", "node.json", "--node", "route-n.txt"],
  "003-calico-ipip-cross-node": (e) => ["--rules", "../empty.save", "--node", e.node!],
  "004-kube-proxy-nodeport": () => ["--rules", "rules.save", "--node", "node.json"],
  "005-aws-vpc-cni-policy-routing": () => ["--rules", "rules.save", "--node", "node.json"],
  "006-kube-proxy-nftables": () => ["--rules", "ruleset.nft", "--node", "node.json"],
  "007-firewalld": () => ["--rules", "ruleset.nft", "--node", "node.json"],
  // The JSON this time: the golden test reads both forms of every nft sample.
  "008-docker-nftables": () => ["--rules", "ruleset.json", "--node", "node.json"],
  // iptables' half from its dump, as on the node; the listing's iptables-nft tables are then not run twice.
  "009-iptables-nft-mixed": () => ["--rules", "iptables.save", "--rules", "ruleset.nft", "--node", "node.json"],
  "host-firewall": () => ["--rules", "rules.save", "--node", "node.json"],
  "kube-proxy-basic": () => ["--rules", "rules.save", "--node", "node.json"],
};

function run(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const samples = readdirSync(resolve(root, "samples")).filter((d) => existsSync(resolve(root, "samples", d, "packets.json")));

describe("every sample through the binary", () => {
  it("knows how to run every sample that has packets", () => {
    expect(samples.filter((s) => !INPUTS[s])).toEqual([]);
  });

  for (const sample of samples) {
    const dir = resolve(root, "samples", sample);
    const entries: Entry[] = JSON.parse(readFileSync(resolve(dir, "packets.json"), "utf8"));
    describe(sample, () => {
      for (const e of entries) {
        it(e.name, () => {
          const inputs = INPUTS[sample]!(e);
          const json = run(dir, ["trace", "-q", "--json", ...inputs, e.packet]);
          expect(json.code, json.err).toBe(0);
          const j = JSON.parse(json.out);
          expect(validate(j), JSON.stringify(validate.errors)).toBe(true);
          const kinds = j.outcomes.map((o: { fate: { kind: string } }) => o.fate.kind) as string[];
          if (e.expected?.fate) expect(kinds).toContain(e.expected.fate);

          const why = run(dir, ["why-dropped", "-q", ...inputs, e.packet]);
          // 1: some outcome loses the packet; 3: none does, but some cannot be told; 0: all get through.
          const lost = kinds.some((k) => k === "dropped" || k === "rejected" || k === "unroutable" || k === "martian");
          const unknown = kinds.some((k) => k === "indeterminate" || k === "error" || k === "queued");
          expect(why.code, why.err).toBe(lost ? 1 : unknown ? 3 : 0);

          const text = run(dir, ["trace", "-q", ...inputs, e.packet]);
          expect(text.code).toBe(0);
          expect(text.out).toMatchSnapshot();
        });
      }
    });
  }
});
