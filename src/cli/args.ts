/**
 * Argument reading shared by every command. `node:util.parseArgs` splits the command line
 * into tokens (long and short options, `--name=value`, `-abc` groups, `-rFILE`, `--`);
 * this module holds the command's own rules on top: a "did you mean" for an unknown option,
 * options given at most once unless repeatable, and one-line messages. Errors are
 * UsageError, which the entry point prints as one line with exit code 2.
 */
import { parseArgs as tokenize } from "node:util";

export class UsageError extends Error {}

export interface FlagSpec {
  name: string;
  short?: string;
  /** Takes a value (`--rules FILE`); otherwise a boolean switch. */
  value?: boolean;
  repeatable?: boolean;
  help: string;
}

export interface ParsedArgs {
  flags: Map<string, string[] | true>;
  positionals: string[];
}

export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}

export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Reads `argv` against `specs`. Every option is checked here, in order, as parseArgs' strict
 * mode would check it, for two reasons: strict mode's errors are sentences with the option
 * name inside (no "did you mean" can be built on them, and the messages users and tests know
 * would change), and strict mode refuses a value that starts with a dash (`--limit -5`,
 * `--seed -1`), which the commands take as the value and then judge themselves. Values are
 * taken greedily, as parseArgs does when not strict: `--rules --json` reads a file named
 * `--json`, and `-` (stdin) is a value like any other.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options = Object.fromEntries(specs.map((s) => [
    s.name,
    { type: s.value ? ("string" as const) : ("boolean" as const), ...(s.short ? { short: s.short } : {}) },
  ]));
  const { tokens } = tokenize({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string[] | true>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    // Own entries only: `--constructor` is an unknown option, not Object's constructor.
    const spec = byName.get(t.name);
    if (!spec) {
      if (t.rawName.startsWith("--")) {
        const s = suggest(t.name, [...byName.keys()]);
        throw new UsageError(`unknown option --${t.name}${s ? `; did you mean --${s}?` : ""}`);
      }
      // `-10` or `-x.save` reads as a group of short options: say where it came from.
      const arg = argv[t.index]!;
      throw new UsageError(`unknown option ${t.rawName}${arg === t.rawName ? "" : ` (in ${arg}; an argument that starts with - goes after --)`}`);
    }
    if (spec.value) {
      if (t.value === undefined) throw new UsageError(`--${spec.name} needs a value`);
      const prev = flags.get(spec.name);
      // parseArgs keeps the last of a repeated option: a second --packet is refused instead.
      if (Array.isArray(prev)) {
        if (!spec.repeatable) throw new UsageError(`--${spec.name} given twice`);
        prev.push(t.value);
      } else flags.set(spec.name, [t.value]);
    } else {
      if (t.value !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      flags.set(spec.name, true);
    }
  }
  return { flags, positionals };
}

export function flagValue(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

export function flagValues(p: ParsedArgs, name: string): string[] {
  const v = p.flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function flagSet(p: ParsedArgs, name: string): boolean {
  return p.flags.get(name) === true;
}

export function helpText(usage: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => [`${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.value ? " VALUE" : ""}`, s.help] as const);
  const w = Math.max(...rows.map((r) => r[0].length));
  return `${usage}\n\nOptions:\n${rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join("\n")}\n`;
}
