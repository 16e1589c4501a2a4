/**
 * Does the suite bite? Applies one-line semantic mutations to the evaluator, one at a time, in
 * a temporary copy of the tree (never in place), runs a subset of the tests against each, and
 * reports which mutants survive. A survivor is a kernel behaviour no test pins.
 *
 *   npm run build && node dist/bench/mutation-check.js [--only name,name] [--list] [test files...]
 *
 * Needs root and network namespaces for the kernel tests (as test/kernel does). Not part of
 * `npm test`: each mutant runs the kernel differential, minutes in all.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

interface Mutant {
  name: string;
  /** What the mutant breaks, in the kernel's terms. */
  why: string;
  file: string;
  from: string;
  to: string;
}

const MUTANTS: Mutant[] = [
  {
    name: "masquerade-route-src",
    why: "MASQUERADE takes the route's preferred source, not the output interface's address in the next hop's subnet",
    file: "src/extensions/targets/MASQUERADE.ts",
    from: "const addr = env.node.masqueradeAddress(p.outIface, p.family, p.nexthop);",
    to: "const addr = (env.node.routeOutput(p.dst, p.family) as { src?: string }).src ?? env.node.masqueradeAddress(p.outIface, p.family, p.nexthop);",
  },
  {
    name: "goto-as-jump",
    why: "a chain reached by -g returns to the rule after the goto instead of ending where its caller would",
    file: "src/netfilter/traverse.ts",
    from: "if (!tg.goto) c.calls.push({ chain, resume: cr.index + 1 });",
    to: "c.calls.push({ chain, resume: cr.index + 1 });",
  },
  {
    name: "multiport-negation",
    why: "`-m multiport ! --dports` matches the listed ports",
    file: "src/extensions/matches/multiport.ts",
    from: "return m !== d.negated;",
    to: "return m;",
  },
  {
    name: "ipset-nomatch",
    why: "a `nomatch` entry of a hash:net set counts as a member",
    file: "src/ipset/lookup.ts",
    from: 'if (hit) return hit.nomatch ? "nomatch" : true;',
    to: "if (hit) return true;",
  },
  {
    name: "return-from-builtin",
    why: "RETURN in a built-in chain goes on with the next rule instead of the policy",
    file: "src/netfilter/traverse.ts",
    from: 'if (tg.verdict === "RETURN") return chainEnd(c);',
    to: 'if (tg.verdict === "RETURN") return c.calls.length ? chainEnd(c) : goOn();',
  },
  {
    name: "iface-plus-exact",
    why: "`-i cni+` matches only an interface called `cni`",
    file: "src/netfilter/traverse.ts",
    from: "const hit = check.prefix ? n.startsWith(check.name) : n === check.name;",
    to: "const hit = n === check.name;",
  },
  {
    name: "address-negation",
    why: "`! -s NET` / `! -d NET` match NET",
    file: "src/netfilter/traverse.ts",
    from: "return inNet(n, check) !== check.negated;",
    to: "return inNet(n, check);",
  },
  {
    name: "statistic-inverted",
    why: "`-m statistic --probability p` matches with probability 1 - p",
    file: "src/extensions/matches/statistic.ts",
    from: "const hit = d.negated ? 1 - p : p;",
    to: "const hit = d.negated ? p : 1 - p;",
  },
  {
    name: "nat-every-packet",
    why: "the nat table sees every packet of a connection, not only its first",
    file: "src/netfilter/nat.ts",
    from: 'return p.ct.state === "NEW" && p.ct.dir === "ORIGINAL";',
    to: 'return p.ct.dir === "ORIGINAL";',
  },
  {
    name: "nat-without-conntrack",
    why: "the nat chains are consulted even when no rule enabled conntrack",
    file: "src/netfilter/path.ts",
    from: 'if (s.table === "nat" && (!natApplies(br.pkt) || !ctx.rules.conntrackActive)) {',
    to: 'if (s.table === "nat" && !natApplies(br.pkt)) {',
  },
  {
    name: "mark-mask-ignored",
    why: "`-m mark --mark V/M` compares the whole mark with V",
    file: "src/extensions/matches/mark.ts",
    from: "return (((env.packet.mark & d.mask) >>> 0) === (d.value >>> 0)) !== d.negated;",
    to: "return ((env.packet.mark >>> 0) === (d.value >>> 0)) !== d.negated;",
  },
  {
    name: "xmark-or",
    why: "`-j MARK --set-xmark V/M` ORs V in instead of XORing it",
    file: "src/extensions/targets/MARK.ts",
    from: "return ((current & ~d.mask) ^ d.value) >>> 0;",
    to: "return ((current & ~d.mask) | d.value) >>> 0;",
  },
  {
    name: "port-range-upper-edge",
    why: "`--dport LO:HI` leaves HI out",
    file: "src/extensions/matches/tcp.ts",
    from: "return (port >= r.lo && port <= r.hi) !== r.negated;",
    to: "return (port >= r.lo && port < r.hi) !== r.negated;",
  },
  {
    name: "rp-filter-strict-as-loose",
    why: "strict reverse-path filtering (rp_filter=1) accepts a source routed back out another device",
    file: "src/netfilter/node-view.ts",
    from: "if (rpf === 1) return rpfFail(",
    to: "if (rpf === 3) return rpfFail(",
  },
  {
    name: "ip-rule-not-ignored",
    why: "an `ip rule not ...` applies where its selectors match instead of where they do not",
    file: "src/netfilter/fib.ts",
    from: "return r.not ? !m : m;",
    to: "return m;",
  },
];

/** The kernel differential, the pinned kernel cases, and the evaluator's unit and property tests. */
const DEFAULT_TESTS = [
  "test/kernel/differential.test.ts",
  "test/kernel/pinned.test.ts",
  "test/kernel/route-get.test.ts",
  "test/unit/evaluate-basic.test.ts",
  "test/unit/jumps.test.ts",
  "test/unit/extensions-eval.test.ts",
  "test/unit/established-nat.test.ts",
  "test/unit/ipset-honesty.test.ts",
  "test/property/evaluator-laws.test.ts",
];

/** What the tests need of the tree; node_modules is linked, not copied. */
const TREE = ["src", "test", "grammar", "samples", "bench", "package.json", "tsconfig.json", "vitest.config.ts"];

function copyTree(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), "netfate-mutants-"));
  for (const part of TREE) cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Runs the tests in `dir`; true when they all pass. `--bail`: one failure is enough to kill. */
function testsPass(dir: string, tests: string[]): { pass: boolean; seconds: number; failed?: string } {
  const start = Date.now();
  const r = spawnSync("npx", ["vitest", "run", "--bail=1", ...tests], {
    cwd: dir,
    encoding: "utf8",
    // No shrinking: the first disagreement kills the mutant; CI=true makes a skip a failure.
    env: { ...process.env, CI: "true", NETFATE_SHRINK_MS: "0", NO_COLOR: "1", FORCE_COLOR: "0" },
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const failed = /FAIL\s+(\S+\.test\.ts[^\n]*)/.exec(out)?.[1]?.trim();
  return { pass: r.status === 0, seconds: Math.round((Date.now() - start) / 1000), ...(failed ? { failed } : {}) };
}

function main(): void {
  const args = process.argv.slice(2);
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1]!.split(",") : undefined;
  if (args.includes("--list")) {
    for (const m of MUTANTS) console.log(`${m.name}\t${m.file}\t${m.why}`);
    return;
  }
  const tests = args.filter((a, i) => a.endsWith(".ts") && args[i - 1] !== "--only");
  const chosen = MUTANTS.filter((m) => !only || only.includes(m.name));
  const root = resolve(import.meta.dirname, "../..");
  const dir = copyTree(root);
  try {
    const run = tests.length ? tests : DEFAULT_TESTS;
    const base = testsPass(dir, run);
    if (!base.pass) {
      console.error(`the unmutated tree fails (${base.failed ?? "see vitest"}): fix that first`);
      process.exitCode = 2;
      return;
    }
    console.log(`unmutated: pass in ${base.seconds}s`);
    const survivors: string[] = [];
    for (const m of chosen) {
      const file = join(dir, m.file);
      const original = readFileSync(file, "utf8");
      const at = original.indexOf(m.from);
      if (at < 0 || original.indexOf(m.from, at + 1) >= 0) throw new Error(`mutant ${m.name}: the line to change is not in ${m.file} exactly once`);
      writeFileSync(file, original.slice(0, at) + m.to + original.slice(at + m.from.length));
      try {
        const r = testsPass(dir, run);
        console.log(`${r.pass ? "SURVIVED" : "killed  "} ${m.name} (${r.seconds}s${r.failed ? `, by ${r.failed}` : ""}): ${m.why}`);
        if (r.pass) survivors.push(m.name);
      } finally {
        writeFileSync(file, original);
      }
    }
    console.log(`${chosen.length - survivors.length} of ${chosen.length} killed${survivors.length ? `; survivors: ${survivors.join(", ")}` : ""}`);
    if (survivors.length) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
