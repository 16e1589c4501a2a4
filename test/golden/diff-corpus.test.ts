/**
 * What `netfate diff` finds, pinned: a corpus of dump pairs (the samples with realistic changes,
 * generated kube-proxy pairs of 50 to 10,000 services, the iptables → nftables migration, an
 * IPv6 pair) run through the CLI as users run it, each output (exit code, stderr, text or JSON)
 * compared with the one recorded in test/golden/diff-corpus/ before diff was made faster. Any
 * change to what diff finds, or how it says it, shows here.
 *
 * `NETFATE_RECORD_DIFF=1 npx vitest run test/golden/diff-corpus.test.ts` writes the files
 * again; only do that for a change of findings that is meant, and say why in the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli } from "../support/cli-in-process.js";
import { DIFF_NODE, kubeProxyPair } from "../../bench/diff.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { kubeNftDump } from "../../bench/gen-kube-nft.js";

const root = resolve(import.meta.dirname, "../..");
const golden = resolve(import.meta.dirname, "diff-corpus");
const RECORD = process.env.NETFATE_RECORD_DIFF === "1";
/** Outputs larger than this are pinned by their digest and a listing of what was found. */
const WHOLE = 64 * 1024;

const read = (p: string) => readFileSync(resolve(root, p), "utf8");

/** A pair written to a directory of its own; the CLI runs there, so outputs name `old.save`, not a temporary path. */
type Files = () => Record<string, string>;

interface Case {
  name: string;
  args: string[];
  files?: Files;
}

const hostFirewall: Files = () => {
  const old = read("samples/host-firewall/rules.save");
  return { "old.save": old, "new.save": old.replace("--dports 80,443", "--dports 80,8443").replace("-s 10.0.0.0/8 ", "-s 10.1.0.0/16 ") };
};

const calico: Files = () => {
  const dir = "samples/000-calico-ipip-ipvs-policy/";
  const old = read(dir + "filter.save") + read(dir + "nat.save");
  return {
    "old.save": old,
    "new.save": old.replace("-m multiport --dports 80 ", "-m multiport --dports 80,8080 ")
      .replace(/-A cali-from-wl-dispatch -m comment --comment "cali:zTj6P0TIgYvgz-md".*\n/, ""),
    "ipsets.save": read(dir + "ipsets.save"),
    "ipvsadm.txt": read(dir + "ipvsadm.txt"),
    "node.json": read(dir + "node.json"),
  };
};

const aws: Files = () => {
  const dir = "samples/005-aws-vpc-cni-policy-routing/";
  const old = read(dir + "rules.save");
  return { "old.save": old, "new.save": old.replace("-d 192.168.0.0/16 ", "-d 192.168.0.0/17 "), "node.json": read(dir + "node.json") };
};

const nftChanged: Files = () => {
  const dir = "samples/006-kube-proxy-nftables/";
  const old = read(dir + "ruleset.nft");
  return { "old.nft": old, "new.nft": old.replaceAll("10.244.1.6", "10.244.1.16"), "node.json": read(dir + "node.json") };
};

const mixed: Files = () => {
  const dir = "samples/009-iptables-nft-mixed/";
  const old = read(dir + "iptables.save") + read(dir + "ruleset.nft");
  return { "old.txt": old, "new.txt": old.replace("--dports 80,443,8080 ", "--dports 80,443 ").replace("tcp dport { 22, 443 } accept", "tcp dport { 22 } accept"), "node.json": read(dir + "node.json") };
};

const V6_OLD = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SVC - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -s 2001:db8:10::/48 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -d 2001:db8::1/128 -p tcp -j SVC
-A SVC -p tcp -m multiport --dports 80,443 -j ACCEPT
-A SVC -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A FORWARD -i eth1 -o eth0 -j ACCEPT
COMMIT
`;

const ipv6: Files = () => ({
  "old.save": V6_OLD,
  "new.save": V6_OLD.replace("2001:db8:10::/48", "2001:db8:10::/56").replace("--dports 80,443 ", "--dports 443 ").replace("-A FORWARD -i eth1 -o eth0 -j ACCEPT\n", ""),
});

const generated = (services: number): Files => () => {
  const pair = kubeProxyPair(services);
  return { "old.save": pair.old, "new.save": pair.new, "node.json": DIFF_NODE };
};

const migration: Files = () => ({ "iptables.save": kubeProxyDump({ services: 5 }), "nft.txt": kubeNftDump({ services: 5 }), "node.json": DIFF_NODE });

const kp = ["samples/kube-proxy-basic/rules.save", "samples/kube-proxy-basic/rules-after-upgrade.save"];
const kpNode = ["--node", "samples/kube-proxy-basic/node.json"];
const all = ["--json", "--limit", "0"];
const pair = ["old.save", "new.save", "--node", "node.json"];

const CASES: Case[] = [
  { name: "kube-basic-text", args: [kp[0]!, kp[1]!, ...kpNode] },
  { name: "kube-basic-json", args: [...all, kp[0]!, kp[1]!, ...kpNode] },
  { name: "kube-basic-swapped-json", args: [...all, kp[1]!, kp[0]!, ...kpNode] },
  { name: "kube-basic-established-json", args: [...all, "--established", "--random", "200", kp[0]!, kp[1]!, ...kpNode] },
  { name: "kube-basic-no-node-json", args: [...all, kp[0]!, kp[1]!] },
  { name: "kube-basic-same-text", args: [kp[0]!, kp[0]!, ...kpNode] },
  { name: "host-firewall-text", args: ["--stacked", "old.save", "new.save", "--iface", "eth0=192.168.0.11/24"], files: hostFirewall },
  // The text case gives no routes: what lies beyond eth0's subnet is not compared, and said so.
  // The JSON case gives the node's default route, as the README's example does.
  { name: "host-firewall-json", args: [...all, "old.save", "new.save", "--iface", "eth0=192.168.0.11/24", "--route", "default via 192.168.0.1 dev eth0"], files: hostFirewall },
  { name: "nodeport-004-json", args: [...all, "samples/004-kube-proxy-nodeport/rules.save", "samples/004-kube-proxy-nodeport/rules-guarded.save", "--node", "samples/004-kube-proxy-nodeport/node.json"] },
  {
    name: "flannel-001-json",
    args: [...all, "samples/001-flannel-udp-clusterip-from-node/worker-nat.nvL", "samples/001-flannel-udp-clusterip-from-node/worker-nat-fixed.nvL", "--node", "samples/001-flannel-udp-clusterip-from-node/worker-node.json", "--node", "samples/001-flannel-udp-clusterip-from-node/worker-route-n.txt"],
  },
  { name: "calico-000-json", args: [...all, "old.save", "new.save", "--ipsets", "ipsets.save", "--ipvs", "ipvsadm.txt", "--node", "node.json"], files: calico },
  { name: "aws-005-json", args: [...all, ...pair], files: aws },
  { name: "nft-006-same-json", args: [...all, "samples/006-kube-proxy-nftables/ruleset.nft", "samples/006-kube-proxy-nftables/ruleset-a.nft", "--node", "samples/006-kube-proxy-nftables/node.json"] },
  { name: "nft-006-json", args: [...all, "old.nft", "new.nft", "--node", "node.json"], files: nftChanged },
  { name: "mixed-009-json", args: [...all, "old.txt", "new.txt", "--node", "node.json"], files: mixed },
  { name: "ipv6-json", args: [...all, "old.save", "new.save", "--iface", "eth0=2001:db8::1/64", "--iface", "eth1=2001:db8:1::1/64", "--route", "default via 2001:db8::fe dev eth0"], files: ipv6 },
  { name: "migration-text", args: ["--limit", "4", "iptables.save", "nft.txt", "--node", "node.json"], files: migration },
  { name: "migration-json", args: [...all, "--max", "2000", "--random", "200", "iptables.save", "nft.txt", "--node", "node.json"], files: migration },
  { name: "gen-50-text", args: pair, files: generated(50) },
  { name: "gen-50-json", args: [...all, ...pair], files: generated(50) },
  { name: "gen-50-established-json", args: [...all, "--established", ...pair], files: generated(50) },
  { name: "gen-300-json", args: [...all, ...pair], files: generated(300) },
  // A cap below what the rules' constants make: the cap's thinning and the random search's
  // packets must be the same as before.
  { name: "gen-300-capped-json", args: [...all, "--max", "3000", "--seed", "7", ...pair], files: generated(300) },
  { name: "gen-2000-json", args: [...all, ...pair], files: generated(2000) },
  { name: "gen-10000-text", args: pair, files: generated(10_000) },
  { name: "gen-10000-json", args: [...all, ...pair], files: generated(10_000) },
];

/**
 * What a JSON output found, for reading when its digest no longer matches: the counts, every
 * packet that differs, and the first difference of each kind with both sides' fates.
 */
function listing(json: string): string {
  const j = JSON.parse(json) as {
    candidates: number; total: number; kinds: number; notCompared: number; notComparedExample?: { packet: string; side: string; reason: string };
    differences: Array<{ packet: string; old: { summary: unknown }; new: { summary: unknown } }>;
  };
  const head = `candidates ${j.candidates}, total ${j.total}, kinds ${j.kinds}, notCompared ${j.notCompared}${j.notComparedExample ? ` (${JSON.stringify(j.notComparedExample)})` : ""}`;
  // --limit 0 lists one of each kind first (kindsFirst).
  const kinds = j.differences.slice(0, j.kinds).map((d) => `${d.packet}\n  old ${JSON.stringify(d.old.summary)}\n  new ${JSON.stringify(d.new.summary)}`);
  return [head, "first of each kind:", ...kinds, "every packet that differs:", ...j.differences.map((d) => d.packet)].join("\n");
}

function pinned(text: string, json: boolean): string {
  if (text.length <= WHOLE) return text;
  const digest = createHash("sha256").update(text).digest("hex");
  const lines = json ? listing(text) : text.split("\n").slice(0, 200).join("\n");
  return `sha256 ${digest} (${text.length} characters)\n${json ? "what was found:" : "the first 200 lines:"}\n${lines}\n`;
}

const dirs: string[] = [];
let cwd = "";

beforeAll(() => {
  cwd = process.cwd();
  if (RECORD) mkdirSync(golden, { recursive: true });
});

afterAll(() => {
  process.chdir(cwd);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(c: Case): Promise<string> {
  let dir = root;
  if (c.files) {
    dir = mkdtempSync(join(tmpdir(), "netfate-diff-corpus-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(c.files())) writeFileSync(join(dir, name), text);
  }
  process.chdir(dir);
  try {
    const r = await runCli(["diff", ...c.args]);
    const json = c.args.includes("--json");
    return `exit ${r.code}\n--- stderr\n${r.err}--- stdout\n${pinned(r.out, json)}`;
  } finally {
    process.chdir(cwd);
  }
}

describe("netfate diff finds what it found before", () => {
  for (const c of CASES) {
    const big = c.name.startsWith("gen-10000") || c.name.startsWith("gen-2000");
    it(c.name, async () => {
      const got = await run(c);
      const file = join(golden, `${c.name}.txt`);
      if (RECORD) writeFileSync(file, got);
      expect(existsSync(file), `${file} is recorded`).toBe(true);
      expect(got).toBe(readFileSync(file, "utf8"));
    }, big ? 900_000 : 120_000);
  }
});
