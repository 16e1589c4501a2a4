/**
 * Which table a dump without `*table` lines (`iptables -S`, a pasted fragment, a listing)
 * belongs to, from what its lines use. Used only when the user did not say; the answer is
 * reported as inferred, and when the lines fit more than one table and nothing tells them
 * apart the answer is "cannot tell" rather than a guess.
 *
 * First every table the lines cannot be in is ruled out, by what iptables refuses there: a
 * target only some tables allow, a policy or a chain that is not built into the table. Only
 * then, among the tables left, the built-in chains shown and a few naming conventions choose.
 */
import { BUILTIN_CHAINS, isTableName, TABLE_NAMES, type TableName } from "../model/ast.js";
import { tablesAllowing } from "../extensions/registry.js";

/**
 * The tables a target is allowed in, when not all: an extension target's own `tables` (the
 * kernel's restriction of it, as the binder checks it; each was asked of iptables-restore 1.8.9,
 * test/kernel/restore-refusals.test.ts), and DROP, which iptables itself refuses in nat ("The
 * nat table is not intended for filtering"). Targets taken in every table tell nothing.
 */
const DROP_TABLES: readonly TableName[] = ["raw", "mangle", "filter", "security"];

function allowedIn(target: string): readonly TableName[] | undefined {
  if (target === "DROP") return DROP_TABLES;
  return tablesAllowing(target)?.filter(isTableName);
}

const BUILTIN_NAMES = new Set(Object.values(BUILTIN_CHAINS).flat());

export type TableGuess =
  | { table: TableName; reason: string }
  /** The lines fit each of `candidates` (none: no table allows all of them). */
  | { table: undefined; candidates: TableName[]; reason: string };

/**
 * What lines outside any table say about it, gathered a line at a time so that the lines
 * need not be kept (an `iptables -S` of 10k services is 160k of them).
 */
export class TableEvidence {
  private readonly targets = new Set<string>();
  /** Built-in chains shown with a policy (`-P`, `:INPUT ACCEPT`, a listing's `(policy ...)`), in order. */
  private readonly policies = new Map<string, string>();
  /** Chains the lines create (`-N`, `:X -`, a listing's `(N references)`). */
  private readonly userChains = new Set<string>();
  /** Chains rules are added to. */
  private readonly used = new Set<string>();

  /** A line of an iptables-save or -S text (grammar/save.ts's reading of it). */
  add(l: { kind: string; args?: ReadonlyArray<{ value: string }>; name?: string }): void {
    if (l.kind === "chain" && l.name) {
      const pol = l.args?.[0]?.value;
      if (pol === undefined || pol === "-") this.userChains.add(l.name);
      else this.policy(l.name, pol);
    }
    if (l.kind === "command" && l.args) {
      const a = l.args;
      const cmd = a[0]?.value;
      const chain = a[1]?.value;
      if (chain !== undefined) {
        if (cmd === "-P" || cmd === "--policy") this.policy(chain, a[2]?.value ?? "");
        else if (cmd === "-N" || cmd === "--new-chain") this.userChains.add(chain);
        else this.used.add(chain);
      }
      for (let i = 0; i + 1 < a.length; i++) if (a[i]!.value === "-j" || a[i]!.value === "--jump") this.target(a[i + 1]!.value);
    }
  }

  /** A built-in chain shown with its policy. */
  policy(chain: string, policy: string): void {
    if (!this.policies.has(chain)) this.policies.set(chain, policy);
  }

  userChain(chain: string): void {
    this.userChains.add(chain);
  }

  target(name: string): void {
    this.targets.add(name);
  }

  guess(): TableGuess {
    let candidates: TableName[] = [...TABLE_NAMES];
    const why: string[] = [];
    const keep = (allowed: readonly TableName[], because: string) => {
      const left = candidates.filter((t) => allowed.includes(t));
      if (left.length < candidates.length) why.push(because);
      candidates = left;
    };
    for (const t of this.targets) {
      const allowed = allowedIn(t);
      if (!allowed) continue;
      const refused = TABLE_NAMES.filter((x) => !allowed.includes(x));
      keep(allowed, allowed.length === 1 ? `uses -j ${t}` : `uses -j ${t}, refused in ${orList(refused)}`);
    }
    const builtIn = [...this.policies.keys()];
    for (const c of this.used) if (BUILTIN_NAMES.has(c) && !this.userChains.has(c) && !this.policies.has(c)) builtIn.push(c);
    if (builtIn.length) keep(TABLE_NAMES.filter((t) => builtIn.every((c) => BUILTIN_CHAINS[t].includes(c))), `built-in chains ${builtIn.join(", ")}`);
    // A policy DROP tells nothing: `-P PREROUTING DROP` is refused in nat, but
    // `:PREROUTING DROP` is restored there (1.8.9, both backends), and -S then prints it.
    const reason = why.join("; ");
    if (candidates.length === 0) return { table: undefined, candidates, reason: `no table allows all the lines: ${reason}` };
    if (candidates.length === 1) return { table: candidates[0]!, reason };
    const and = reason ? `${reason}; ` : "";
    // A whole table's -S or listing shows every built-in chain in hook order; a pasted excerpt
    // may stop early. The chains shown must be how the table's own list begins.
    const shown = [...this.policies.keys()];
    if (shown.length > 0) {
      const fits = candidates.filter((t) => shown.every((c, i) => BUILTIN_CHAINS[t][i] === c));
      const pick = fits.length === 1 ? fits[0] : fits.length === 2 && fits.includes("filter") && fits.includes("security") ? "filter" : undefined;
      if (pick) {
        const also = fits.length === 2 ? " (security has the same built-in chains; filter is iptables' default)" : "";
        return { table: pick, reason: `${and}the policies shown, ${shown.join(", ")}, are how ${pick} begins${also}` };
      }
      if (fits.length > 0) candidates = fits;
    }
    if (candidates.includes("nat") && !this.policies.has("FORWARD") && !this.used.has("FORWARD")) {
      // kube-proxy's per-service chains exist only in its nat table.
      for (const c of [...this.used, ...this.userChains]) {
        if (/^KUBE-(SEP|SVC|EXT|FW|XLB|MARK-MASQ|POSTROUTING)/.test(c)) return { table: "nat", reason: `${and}has kube-proxy chain ${c}` };
      }
    }
    if (candidates.includes("filter")) {
      return { table: "filter", reason: `${and}${reason ? "of the tables left, " : "nothing table-specific found; "}filter is iptables' default` };
    }
    return { table: undefined, candidates, reason: `the lines fit ${orList(candidates)}${reason ? ` (${reason})` : ""}` };
  }
}

function orList(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;
}

/** The message for lines whose table cannot be told. */
export function cannotTellMessage(g: Extract<TableGuess, { table: undefined }>): string {
  return `cannot tell which table these lines are in (${g.reason}); they are left out: give --table`;
}
