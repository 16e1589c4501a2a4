/**
 * `--assume KEY=WORD`: what to take of state the input cannot show instead of a quiet node
 * (`limit=exhausted`, `recent=listed`, `connlimit=over`, `quota=spent`), or `KEY=either` to
 * trace both sides as alternatives; `stateful=either` asks it of every kind at once. The keys
 * and words are the matches' own (their `state` in the extension registry).
 */
import { stateChoices } from "../extensions/registry.js";
import type { StateAssumption, StateAssumptions } from "../model/evaluation.js";
import { flagValues, suggest, UsageError, type FlagSpec, type ParsedArgs } from "./args.js";

const ALL = "stateful";

export const ASSUME_FLAG: FlagSpec = {
  name: "assume", value: true, repeatable: true,
  help: `KEY=WORD: state the dumps cannot show, instead of a quiet node: ${stateChoices().map((c) => `${c.key}=${[c.busy, "either"].filter(Boolean).join("|")}`).join(", ")}, ${ALL}=either; repeatable`,
};

export function assumptionsOf(args: ParsedArgs): StateAssumptions | undefined {
  const given = flagValues(args, "assume");
  if (given.length === 0) return undefined;
  const choices = stateChoices();
  const out: Record<string, StateAssumption> = {};
  for (const text of given) {
    const m = /^([\w-]+)=([\w-]+)$/.exec(text);
    if (!m) throw new UsageError(`--assume ${JSON.stringify(text)}: expected KEY=WORD, e.g. limit=exhausted`);
    const [, key, word] = m as unknown as [string, string, string];
    if (key === ALL) {
      const a: StateAssumption | undefined = word === "either" ? "either" : word === "quiet" ? "quiet" : undefined;
      if (!a) throw new UsageError(`--assume ${ALL}=${word}: expected ${ALL}=either or ${ALL}=quiet`);
      for (const c of choices) out[c.key] = a;
      continue;
    }
    const c = choices.find((x) => x.key === key);
    if (!c) {
      const s = suggest(key, [...choices.map((x) => x.key), ALL]);
      throw new UsageError(`--assume ${key}: no such state${s ? `; did you mean ${s}?` : ""} (known: ${choices.map((x) => x.key).join(", ")}, ${ALL})`);
    }
    const a: StateAssumption | undefined = word === c.quiet || word === "quiet" ? "quiet" : word === c.busy ? "busy" : word === "either" ? "either" : undefined;
    if (!a) throw new UsageError(`--assume ${key}=${word}: expected ${[c.quiet, c.busy, "either"].filter(Boolean).join(", ")} (${c.what})`);
    out[c.key] = a;
  }
  return out;
}
