/**
 * The fast path for `-A` lines (src/syntax/fast-append.ts) must never accept a line the binder
 * would say anything about, and must describe each line it accepts as the binder binds it:
 * fast path accepts ⇒ the scanner reads the line without error, the binder binds it to one
 * `-A` rule of the same chain with no diagnostic (error, warning or note), the chain's
 * digest gets the same entries, and a chain index would file the rule under the destination
 * and port the fast path found. Lines are random, shaped like kube-proxy's, mutated, and every
 * `-A` line of the corpus and the reference outputs, as they are and mutated. Each test also
 * says how many lines the fast path accepted at least: one that declined everything would
 * otherwise pass.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readSaveLine } from "../../grammar/read-line.js";
import { fastAppend, fastDigestRule, fastJumpable, type FastTable } from "../../src/syntax/fast-append.js";
import { bindCommand, type BindEnv } from "../../src/syntax/rule-binder.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { digestRule, emptyDigest } from "../../src/model/chain-rules.js";
import { BUILTIN_CHAINS, type Chain, type TableName } from "../../src/model/ast.js";
import { indexKeys } from "../../src/netfilter/compile.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { hasShared, listShared, readShared, sharedPath } from "../support/shared.js";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const TABLES: TableName[] = ["nat", "filter"];

/** A table whose declared chains are `names` (and its built-in ones), for both readers. */
function tableOf(name: TableName, names: Iterable<string>, text: () => string): FastTable & { chains: Map<string, Chain>; byId: Chain[] } {
  const chains = new Map<string, Chain>();
  const byId: Chain[] = [];
  const add = (n: string, builtin: boolean) => {
    const c: Chain = { name: n, builtin, policy: builtin ? "ACCEPT" : null, declared: true, rules: undefined as never, span: { line: 1, col: 1, len: 1 } };
    chains.set(n, c);
    byId.push(c);
  };
  for (const n of BUILTIN_CHAINS[name]) add(n, true);
  for (const n of names) if (!chains.has(n)) add(n, false);
  return {
    table: { name }, chains, byId,
    chainIdAt: (s, e) => byId.indexOf(chains.get(text().slice(s, e))!),
    jumpable: (id) => fastJumpable(byId[id]!.name, byId[id]!.builtin),
  };
}

const seen = { accepted: 0, declined: 0 };

// Floors: each about half of what the test accepted over several runs (random: ~1,000 of 8,000
// checks; changed characters ~800 of 30,000; the kube dump ~830 of 960 as it is, ~740 of 6,000
// changed; the corpus ~410 of 3,800 as it is, ~60 of 6,000 changed).

/** Checks the law for `line` in each table; counts what the fast path accepted. */
function agree(line: string, names: Iterable<string>): void {
  for (const table of TABLES) {
    const t = tableOf(table, names, () => line);
    const fast = fastAppend(line, 0, line.length, t);
    if (!fast) {
      seen.declined++;
      continue;
    }
    seen.accepted++;
    const sink = new DiagnosticSink("f");
    const scanned = readSaveLine(line, 0, line.length, 3, (e) => sink.error({ line: e.line, col: e.col, len: 1 }, e.message));
    expect(scanned?.kind, line).toBe("command");
    if (scanned?.kind !== "command") return;
    expect(scanned.counters, line).toBeUndefined();
    const env: BindEnv = { family: "ipv4", table, sink, line: 3, isChain: (n) => t.chains.has(n), jumpsMustExist: true };
    const cmd = bindCommand(scanned.args, env);
    expect(sink.items, `${table}: ${line}`).toEqual([]);
    expect(cmd?.kind, line).toBe("append");
    if (cmd?.kind !== "append") return;
    expect(cmd.chain).toBe(t.byId[fast.chain]!.name);
    expect(cmd.rules.length, line).toBe(1);
    const bound = emptyDigest();
    for (const r of cmd.rules) digestRule(bound, r);
    const quick = emptyDigest();
    digestRule(quick, fastDigestRule(fast, (id) => t.byId[id]!.name));
    expect(quick, `${table}: ${line}`).toEqual(bound);
    // What a chain index files the rule under, noted from the fast path (syntax/line-keys.ts).
    const keys = indexKeys(cmd.rules[0]!, "ipv4");
    expect({ dst: fast.dst < 0 ? undefined : fast.dst, dport: fast.dport < 0 ? undefined : fast.dport }, `${table}: ${line}`).toEqual(keys);
  }
}

function counting(floor: number, f: () => void): void {
  seen.accepted = seen.declined = 0;
  f();
  expect(seen.accepted, `${seen.accepted} accepted, ${seen.declined} declined`).toBeGreaterThanOrEqual(floor);
}

// QUEUE declared as a chain: `-j QUEUE` is still a verdict to the binder.
const CHAINS = ["KUBE-SERVICES", "KUBE-SVC-ABC", "KUBE-SEP-X1", "KUBE-MARK-MASQ", "KUBE-EXT-Q", "cali-fw", "LOG", "MARK", "DNAT", "lower", "QUEUE"];
const NOT_CHAINS = ["KUBE-NOPE", "ACCEPT", "DROP", "RETURN", "QUEUE", "PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "FORWARD", "MASQUERADE", "REJECT", "-x", "nochain"];

const address = fc.oneof(
  fc.constantFrom("10.96.0.10/32", "10.244.0.0/16", "0.0.0.0/0", "1.2.3.4", "255.255.255.255/32", "10.0.0.1/0", "10.1.2.3/24"),
  fc.constantFrom("010.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4/33", "1.2.3.4/08", "1.2.3.4/", "1.2.3.4/255.0.0.0", "::1", "1.2.3.4,5.6.7.8", "host", "!", "1.2.3.4/00"),
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300), fc.option(fc.nat(40))).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === null ? "" : `/${p}`}`),
);
const port = fc.oneof(fc.constantFrom("80", "8080", "65535", "65536", "0", "080", "1:2", "http", "", "99999", "1", "00"), fc.nat(70000).map(String));
const comment = fc.oneof(
  fc.constantFrom('"ns/svc:http cluster IP"', "plain", '""', '"a\\"b"', '"a\\\\b"', '"é"', '"x"y', 'a"b"', '"unterminated', "!", "--x", '"tab\there"', `"${"x".repeat(255)}"`, `"${"x".repeat(256)}"`, "#x"),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
);
const chainName = fc.constantFrom(...CHAINS, ...NOT_CHAINS);
const probability = fc.oneof(fc.constantFrom("0.25000000000", "0.5", "0.", "1", "1.0", "0.1e2", "-0.5", "0x1", ".5", "00.5", "0.33332999982"), fc.double({ min: -1, max: 2, noNaN: true }).map(String));

/** One option of a rule, as words. */
const option = fc.oneof(
  fc.tuple(fc.constantFrom("", "! "), fc.constantFrom("-s", "-d", "--source", "-d"), address).map(([n, f, a]) => `${n}${f} ${a}`),
  fc.constantFrom("tcp", "udp", "all", "icmp", "6", "TCP", "!").map((p) => `-p ${p}`),
  comment.map((c) => `-m comment --comment ${c}`),
  fc.tuple(fc.constantFrom("tcp", "udp", "sctp"), fc.array(fc.tuple(fc.constantFrom("--dport", "--sport", "--destination-port", "--dpo", "! --dport"), port), { maxLength: 3 })).map(
    ([m, opts]) => `-m ${m}${opts.map(([f, p]) => ` ${f} ${p}`).join("")}`,
  ),
  fc.tuple(fc.constantFrom("random", "nth", "Random"), fc.constantFrom("--probability", "--prob", "! --probability", "--every"), probability).map(([m, f, p]) => `-m statistic --mode ${m} ${f} ${p}`),
  fc.constantFrom("-m statistic --probability 0.5 --mode random", "-m statistic", "-m mark --mark 0x4000/0x4000", "-m addrtype --dst-type LOCAL", "-i eth0", "-o eth0", "-f", "-4", "-6", "!", "-c 1 2"),
);
const target = fc.oneof(
  chainName.map((c) => `-j ${c}`),
  chainName.map((c) => `-g ${c}`),
  fc.tuple(fc.constantFrom("", "1.2.3.4", "10.244.0.3:8080", "10.244.0.3:0", "10.244.0.3:65536", "01.2.3.4:80", ":80", "1.2.3.4-1.2.3.9", "1.2.3.4:80-90"), fc.constantFrom("", " --random", " extra")).map(
    ([to, more]) => `-j DNAT --to-destination ${to}${more}`,
  ),
  fc.constantFrom("-j DNAT", "-j MARK --set-xmark 0x4000/0x4000", "-j MASQUERADE", "-j ACCEPT extra", "--jump ACCEPT", "-j"),
);

/** Options as kube-proxy writes them: most random lines are then ones the fast path may take. */
const commonOption = fc.oneof(
  fc.tuple(fc.constantFrom("", "! "), fc.constantFrom("-s", "-d"), fc.constantFrom("10.96.0.10/32", "10.244.0.0/16", "10.244.1.7/32", "0.0.0.0/0", "10.1.2.3/0", "192.168.7.9", "255.255.255.255/32", "10.96.0.11/31")).map(([n, f, a]) => `${n}${f} ${a}`),
  fc.constantFrom("-p tcp", "-p udp", "-m tcp --dport 80", "-m udp --dport 53", "-m tcp --sport 1 --dport 2", "-m tcp", "-m udp", "-m tcp --dport 65535", "-m udp --sport 9"),
  fc.constantFrom('-m comment --comment "ns/svc:http cluster IP"', "-m comment --comment plain", "-m statistic --mode random --probability 0.33332999982"),
);
const commonTarget = fc.constantFrom("-j KUBE-SVC-ABC", "-j KUBE-MARK-MASQ", "-j ACCEPT", "-j RETURN", "-j DROP", "-j DNAT --to-destination 10.244.0.3:8080", "-j DNAT --to-destination 10.244.0.3");

/** A rule line: `-A CHAIN`, options, maybe a target, joined by one space. */
const ruleLine = fc.tuple(chainName, fc.array(fc.oneof({ arbitrary: commonOption, weight: 6 }, { arbitrary: option, weight: 1 }), { maxLength: 5 }), fc.option(fc.oneof(commonTarget, target))).map(([c, opts, t]) => [`-A ${c}`, ...opts, ...(t ? [t] : [])].join(" "));

/** Lines the fast path mostly takes, to change a character of: its edge is near them. */
const commonLine = fc.tuple(fc.constantFrom(...CHAINS), fc.array(commonOption, { maxLength: 4 }), commonTarget).map(([c, opts, t]) => [`-A ${c}`, ...opts, t].join(" "));

/** `line` with one character inserted, removed or replaced at `at` (taken modulo its length). */
function mutate(line: string, kind: number, at: number, ch: string): string {
  const k = line.length ? at % line.length : 0;
  if (kind === 0) return line.slice(0, k) + ch + line.slice(k);
  if (kind === 1) return line.slice(0, k) + line.slice(k + 1);
  return line.slice(0, k) + ch + line.slice(k + 1);
}
const mutation = fc.tuple(fc.nat(2), fc.nat(10_000), fc.constantFrom(" ", "\t", "\r", '"', "\\", "!", "-", "0", "9", ".", "/", ":", "a", "Z", "é", "\u00a0", "#"));

function aLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("-A"));
}

/** Chain names a dump declares (`:NAME` and `-N NAME`): the chains its lines may jump to. */
function declared(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^(?::|-N )(\S+)/gm)) out.add(m[1]!);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("fast -A path ⇒ binder, same digest", () => {
  it("on random rule lines", () => {
    counting(500, () => fc.assert(fc.property(ruleLine, (l) => agree(l, CHAINS)), { numRuns: 4000 }));
  });

  it("on random rule lines with one character changed", () => {
    counting(400, () => fc.assert(fc.property(commonLine, mutation, (l, [k, at, ch]) => agree(mutate(l, k, at, ch), CHAINS)), { numRuns: 15000 }));
  });

  it("on every line of a generated kube-proxy dump, and each mutated", () => {
    const text = kubeProxyDump({ services: 40 });
    const names = declared(text);
    const lines = aLines(text);
    counting(lines.length, () => {
      for (const l of lines) agree(l, names);
    });
    counting(400, () => fc.assert(fc.property(fc.constantFrom(...lines), mutation, (l, [k, at, ch]) => agree(mutate(l, k, at, ch), names)), { numRuns: 3000 }));
  });

  it.skipIf(!hasShared)("on every -A line of the corpus and the reference outputs, as they are and mutated", () => {
    const texts = [...filesUnder(sharedPath("corpus")), ...listShared("reference/iptables", ".txt").map((f) => sharedPath("reference/iptables", f))].map((p) =>
      p.startsWith(sharedPath()) ? readShared(p.slice(sharedPath().length + 1)) : "",
    );
    const names = new Set(texts.flatMap((t) => [...declared(t)]));
    const lines = [...new Set(texts.flatMap(aLines))];
    expect(lines.length).toBeGreaterThan(300);
    counting(300, () => {
      for (const l of lines) agree(l, names);
    });
    counting(25, () => fc.assert(fc.property(fc.constantFrom(...lines), mutation, (l, [k, at, ch]) => agree(mutate(l, k, at, ch), names)), { numRuns: 3000 }));
  });
});
