/**
 * The commands an iptables-restore script may hold besides `-A` — `-I CHAIN [N]`, `-D CHAIN N`,
 * `-D CHAIN RULE`, `-F`, `-N`, `-X`, `-Z` — asked of the real tools (1.8.9, both backends) in
 * a network namespace: generated scripts are restored, `iptables-save` shows what the kernel
 * holds, and netfate's reading of the same script must hold the same chains with the same
 * rules in the same order, or report an error where a tool refuses the script.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { ruleSaveLine } from "../../src/print/save.js";
import { inNamespace, kernelSkipReason } from "./harness.js";

const why = kernelSkipReason();
const NS = `nfcmds${process.pid}`;

/** A small deterministic generator (the cases are the same in every run). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/**
 * A script of commands on one filter table. The generator keeps the chains as iptables-legacy
 * would, so that most commands are valid (a position within the chain, a rule it has) and about
 * one in ten is not; the script then stops being accepted there.
 */
function script(seed: number): string {
  const r = rng(seed);
  const chains = new Map<string, string[]>([["INPUT", []]]);
  const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
  // Now and then a jump to a user chain, which `-X` must then refuse to delete. Only to a chain
  // named after the jumping one: the kernel refuses a loop at COMMIT, which netfate does not
  // check (its evaluator stops a loop by depth instead).
  const users = () => [...chains.keys()].filter((c) => c !== "INPUT");
  const spec = (from = "INPUT") => {
    const u = users().filter((c) => from === "INPUT" || c > from);
    const target = u.length > 0 && r(6) === 0 ? u[r(u.length)]! : ["ACCEPT", "DROP", "RETURN"][r(3)]!;
    return `-s 10.0.0.${1 + r(4)}/32 -j ${target}`;
  };
  const wrong = () => r(10) === 0;
  const steps = 6 + r(30);
  for (let k = 0; k < steps; k++) {
    const c = [...chains.keys()][r(chains.size)]!;
    const rules = chains.get(c)!;
    switch (r(10)) {
      case 0:
      case 1:
      case 2: {
        const s = spec(c);
        lines.push(`-A ${c} ${s}`);
        rules.push(s);
        break;
      }
      case 3:
      case 4: {
        // Past the end by one is allowed (-I C len+1 appends); further is refused.
        const s = spec(c);
        const n = wrong() ? rules.length + 2 : 1 + r(rules.length + 1);
        lines.push(r(4) === 0 ? `-I ${c} ${s}` : `-I ${c} ${n} ${s}`);
        rules.splice(lines[lines.length - 1]!.startsWith(`-I ${c} -`) ? 0 : n - 1, 0, s);
        break;
      }
      case 5: {
        const bad = wrong();
        if (rules.length === 0 && !bad) break;
        const n = bad ? rules.length + 1 : 1 + r(rules.length);
        lines.push(`-D ${c} ${n}`);
        rules.splice(n - 1, 1);
        break;
      }
      case 6: {
        const bad = wrong();
        if (rules.length === 0 && !bad) break;
        const s = bad ? spec(c) : rules[r(rules.length)]!;
        lines.push(`-D ${c} ${s}`);
        const at = rules.indexOf(s);
        if (at >= 0) rules.splice(at, 1);
        break;
      }
      case 7:
        if (r(3) === 0) {
          lines.push("-F");
          for (const rs of chains.values()) rs.length = 0;
        } else {
          lines.push(`-F ${c}`);
          rules.length = 0;
        }
        break;
      case 8: {
        const name = `U${r(3)}`;
        if (chains.has(name) && !wrong()) break;
        lines.push(r(2) || chains.has(name) ? `-N ${name}` : `:${name} - [0:0]`);
        chains.set(name, chains.get(name) ?? []);
        break;
      }
      case 9: {
        const bad = wrong();
        if (r(3) === 0) lines.push(`-Z${r(2) ? ` ${bad ? "NOPE" : c}` : ""}`);
        else if (r(4) === 0 && bad) lines.push(`-F NOPE`);
        else if (c !== "INPUT" && (bad || rules.length === 0)) {
          // Refused where the chain has rules or a rule jumps to it; the generator's model
          // cannot tell the latter, so a refusal here is checked, not predicted.
          lines.push(r(4) === 0 ? "-X" : `-X ${c}`);
          if (lines[lines.length - 1] === "-X") for (const u of users()) if (chains.get(u)!.length === 0) chains.delete(u);
          else chains.delete(c);
        }
        break;
      }
    }
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

function inNs(args: string[], input?: string): { ok: boolean; out: string; err: string } {
  const p = spawnSync("ip", ["netns", "exec", NS, ...args], { input, encoding: "utf8" });
  return { ok: p.status === 0, out: p.stdout, err: p.stderr };
}

/** Each chain's `-A` lines as `iptables-save` prints them (counters left out). */
function chainsOfSave(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const decl = /^:(\S+) /.exec(line);
    if (decl) out.set(decl[1]!, []);
    const rule = /^-A (\S+) /.exec(line);
    if (rule) out.get(rule[1]!)?.push(line);
  }
  return out;
}

function chainsOfNetfate(text: string): { chains: Map<string, string[]>; errors: string[] } {
  const parsed = parseRules(text);
  const chains = new Map<string, string[]>();
  for (const t of parsed.value.tables) for (const c of t.chains) chains.set(c.name, c.rules.load().map((rule) => ruleSaveLine(c.name, rule, "ipv4", false)));
  return { chains, errors: parsed.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}: ${d.message}`) };
}

// NETFATE_RESTORE_CASES asks for more (the first 80 are the same in every run).
const SEEDS = Array.from({ length: Number(process.env.NETFATE_RESTORE_CASES ?? 80) }, (_, i) => 1000 + i);

describe.skipIf(why !== undefined)(`restore commands against the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  inNamespace(NS);

  for (const backend of ["legacy", "nft"] as const) {
    it(`generated scripts, ${backend} backend: the same chains and rules, or an error where the tool refuses`, () => {
      let accepted = 0;
      let refused = 0;
      for (const seed of SEEDS) {
        // The header says which backend made the dump: netfate reads `-F` as that backend runs it.
        const text = `# Generated by iptables-${backend === "nft" ? "nft-" : ""}save v1.8.9 on Sat Dec  5 11:00:00 2026\n${script(seed)}`;
        inNs([`iptables-${backend}`, "-F"]);
        inNs([`iptables-${backend}`, "-X"]);
        const restored = inNs([`iptables-${backend}-restore`], text);
        const ours = chainsOfNetfate(text);
        if (!restored.ok) {
          refused++;
          expect(ours.errors, `seed ${seed}: ${restored.err}\n${text}`).not.toEqual([]);
          continue;
        }
        accepted++;
        const kernel = chainsOfSave(inNs([`iptables-${backend}-save`, "-t", "filter"]).out);
        expect(ours.errors, `seed ${seed}\n${text}`).toEqual([]);
        expect(Object.fromEntries(ours.chains), `seed ${seed}\n${text}`).toEqual(Object.fromEntries(kernel));
      }
      // Both kinds of script are in the generated set, or the test would not test refusals.
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(5);
    }, 120_000);
  }
});
