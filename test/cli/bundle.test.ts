/**
 * The shipped CLI is a bundle (src/cli/build-cli.mjs, `bin` in package.json): it answers as
 * the unbundled CLI (tsc's dist/src/cli/main.js) does, word for word and exit code for exit
 * code, on the samples, through each command that reads rules, and with a warm --cache; it
 * starts without loading the commands it was not asked for, nor chevrotain or elkjs; its maps
 * lead to the TypeScript sources. Needs `npm run build`, as every test that runs the CLI.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const dist = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
const bundled = join(root, pkg.bin.netfate!);
const unbundled = join(dist, "src", "cli", "main.js");

function run(cli: string, args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", input, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: "1", NETFATE_CACHE: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const s = (...p: string[]) => join("samples", ...p);
const SAMPLES: { inputs: string[]; packets: string }[] = [
  { inputs: ["--rules", s("kube-proxy-basic/rules.save"), "--node", s("kube-proxy-basic/node.json")], packets: s("kube-proxy-basic/packets.json") },
  { inputs: ["--rules", s("host-firewall/rules.save"), "--node", s("host-firewall/node.json")], packets: s("host-firewall/packets.json") },
  {
    inputs: ["--rules", s("000-calico-ipip-ipvs-policy/filter.save"), "--rules", s("000-calico-ipip-ipvs-policy/nat.save"), "--ipsets", s("000-calico-ipip-ipvs-policy/ipsets.save"), "--node", s("000-calico-ipip-ipvs-policy/node.json"), "--ipvs", s("000-calico-ipip-ipvs-policy/ipvsadm.txt")],
    packets: s("000-calico-ipip-ipvs-policy/packets.json"),
  },
  { inputs: ["--rules", s("009-iptables-nft-mixed/iptables.save"), "--rules", s("009-iptables-nft-mixed/ruleset.nft"), "--node", s("009-iptables-nft-mixed/node.json")], packets: s("009-iptables-nft-mixed/packets.json") },
];

const packetsOf = (file: string): string[] => (JSON.parse(readFileSync(join(root, file), "utf8")) as { packet: string }[]).map((e) => e.packet).slice(0, 2);

describe("the bundle answers as the unbundled CLI", () => {
  const cache = mkdtempSync(join(tmpdir(), "netfate-bundle-cache-"));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it("carries every worker thread's entry where the commands look for it", () => {
    for (const name of ["batch-worker", "diff-helper", "serve-worker"]) expect(existsSync(join(dist, "chunks", `${name}.mjs`)), name).toBe(true);
  });

  it("batch --jobs 2 starts its worker threads from the bundle", () => {
    const sample = SAMPLES[0]!;
    const dir = mkdtempSync(join(tmpdir(), "netfate-bundle-jobs-"));
    try {
      const packets = join(dir, "packets.txt");
      writeFileSync(packets, Array.from({ length: 30 }, () => packetsOf(sample.packets)).flat().join("\n") + "\n");
      const argv = ["batch", ...sample.inputs, "--packets", packets, "--fields", "fate,rule,final"];
      const want = run(unbundled, [...argv, "--jobs", "1"]);
      expect(want.code, want.err).toBe(0);
      expect(run(bundled, [...argv, "--jobs", "2"]).out).toBe(want.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is what package.json's bin names, and npm run build made it", () => {
    expect(existsSync(bundled)).toBe(true);
    expect(pkg.bin["why-dropped"]).toBe("dist/why-dropped.mjs");
  });

  for (const sample of SAMPLES) {
    it(`why-dropped and trace --json: ${dirname(sample.packets)}`, () => {
      for (const packet of packetsOf(sample.packets)) {
        for (const form of [["why-dropped"], ["trace", "--json"]]) {
          const argv = [...form, ...sample.inputs, packet];
          const want = run(unbundled, argv);
          expect(want.code, `${argv.join(" ")}: ${want.err}`).not.toBe(70);
          expect(run(bundled, argv), argv.join(" ")).toEqual(want);
          // Written, then read: the bundle's cache gives the same answer too.
          for (let k = 0; k < 2; k++) expect(run(bundled, [...argv, "--cache", cache]), `${argv.join(" ")} --cache`).toEqual(want);
        }
      }
    });
  }

  it("parse, batch, diff and the why-dropped binary", () => {
    const rules = s("kube-proxy-basic/rules.save");
    for (const argv of [["parse", "--summary", rules], ["parse", "--json", rules], ["diff", rules, s("host-firewall/rules.save")], ["--help"], ["nonsense"]]) {
      expect(run(bundled, argv), argv.join(" ")).toEqual(run(unbundled, argv));
    }
    const packets = packetsOf(s("kube-proxy-basic/packets.json")).map((p) => JSON.stringify({ packet: p })).join("\n") + "\n";
    const batch = ["batch", "--rules", rules, "--node", s("kube-proxy-basic/node.json"), "--packets", "-"];
    expect(run(bundled, batch, packets)).toEqual(run(unbundled, batch, packets));
    const wd = ["--rules", rules, "--node", s("kube-proxy-basic/node.json"), packetsOf(s("kube-proxy-basic/packets.json"))[0]!];
    expect(run(join(root, pkg.bin["why-dropped"]!), wd)).toEqual(run(join(dist, "src", "cli", "why-dropped.js"), wd));
  });

  it("explore writes the same page", () => {
    const argv = ["explore", "--rules", s("kube-proxy-basic/rules.save"), "--node", s("kube-proxy-basic/node.json"), packetsOf(s("kube-proxy-basic/packets.json"))[0]!];
    const want = run(unbundled, argv);
    expect(want.code).toBe(0);
    expect(run(bundled, argv)).toEqual(want);
  });
});

/** The bundle's files that `file` imports before it runs (static imports, transitively). */
function loadedWith(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, "utf8");
    // Minified static imports: `import{a as b}from"./chunk-X.mjs"` and `import"./chunk-Y.mjs"`.
    for (const m of text.matchAll(/import(?:\{[^}]*\}|\*\s*as\s*[\w$]+|[\w$]+)?\s*(?:from)?\s*"([^"]+)"/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) visit(resolve(dirname(f), spec));
      else seen.add(spec);
    }
  };
  visit(file);
  return seen;
}

describe("what the bundle loads", () => {
  it("starts with no command's own code, and no chevrotain or elkjs before they are used", () => {
    const start = [...loadedWith(bundled)];
    expect(start.filter((f) => /\/(parse|trace|batch|collect|diff|explore)-[A-Z0-9]+\.mjs$/.test(f))).toEqual([]);
    const chunks = readdirSync(join(dist, "chunks"));
    const trace = chunks.find((f) => /^trace-[A-Z0-9]+\.mjs$/.test(f))!;
    const whyDropped = [...loadedWith(join(dist, "chunks", trace))];
    expect(whyDropped.filter((f) => /^(chevrotain|elkjs)/.test(f))).toEqual([]);
    expect(whyDropped.filter((f) => /\/(collect|diff|batch|parse)-[A-Z0-9]+\.mjs$/.test(f))).toEqual([]);
  });

  it("carries the notice of the code it bundles", () => {
    for (const f of readdirSync(join(dist, "chunks")).filter((f) => f.endsWith(".mjs"))) {
      expect(readFileSync(join(dist, "chunks", f), "utf8")).toContain("ipaddr.js");
    }
  });

  it("maps its code to the TypeScript sources, which exist", () => {
    const maps = readdirSync(join(dist, "chunks")).filter((f) => f.endsWith(".mjs.map"));
    expect(maps.length).toBeGreaterThan(3);
    let ts = 0;
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(dist, "chunks", m), "utf8")) as { sources: string[] };
      for (const src of map.sources) {
        const at = resolve(dist, "chunks", src);
        expect(existsSync(at), `${m}: ${src}`).toBe(true);
        if (at.endsWith(".ts")) ts++;
      }
    }
    expect(ts).toBeGreaterThan(100);
  });
});
