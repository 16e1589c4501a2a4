/**
 * Argument parsing shared by every command: long and short flags, repeatable options,
 * positionals, and a "did you mean" for unknown flags. Errors are UsageError, which the
 * entry point prints as one line with exit code 2.
 */
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

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const flags = new Map<string, string[] | true>();
  const positionals: string[] = [];
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) inline = a.slice(eq + 1);
      spec = byLong.get(name);
      if (!spec) {
        const s = suggest(name, [...byLong.keys()]);
        throw new UsageError(`unknown option --${name}${s ? `; did you mean --${s}?` : ""}`);
      }
    } else if (a.length === 2 && a[0] === "-" && a[1] !== "-") {
      spec = byShort.get(a[1]!);
      if (!spec) throw new UsageError(`unknown option ${a}`);
    } else {
      positionals.push(a);
      continue;
    }
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${spec.name} needs a value`);
      const prev = flags.get(spec.name);
      if (Array.isArray(prev)) {
        if (!spec.repeatable) throw new UsageError(`--${spec.name} given twice`);
        prev.push(v);
      } else flags.set(spec.name, [v]);
    } else {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
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
