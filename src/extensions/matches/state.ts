/** `-m state --state`: the older spelling of conntrack's `--ctstate`, without SNAT/DNAT. */
import type { MatchExtension } from "../types.js";
import { stateWitnesses } from "./conntrack.js";

const STATES = ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED"] as const;
type StateName = (typeof STATES)[number];

export interface StateData {
  negated: boolean;
  states: StateName[];
}

export const state: MatchExtension<StateData> = {
  type: "match",
  name: "state",
  reads: () => [],
  needsConntrack: true,
  witnesses: stateWitnesses,
  printPrefixes: ["state", "! state"],
  options: [{ flags: ["--state"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--state");
    if (!o) return void ctx.error(span, "state: --state is required", "--state STATE[,STATE...]");
    const states: StateName[] = [];
    for (const w of (o.values[0] ?? "").split(",")) {
      const u = w.toUpperCase() as StateName;
      if (!STATES.includes(u)) return void ctx.error(o.span, "state: unknown state", STATES.join(", "), w);
      if (!states.includes(u)) states.push(u);
    }
    return { negated: o.negated, states: states.sort((a, b) => STATES.indexOf(a) - STATES.indexOf(b)) };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --state ${d.states.join(",")}`;
  },
  print(d) {
    return `${d.negated ? " !" : ""} state ${d.states.join(",")}`;
  },
  evaluate(d, env) {
    return d.states.includes(env.packet.ct.state) !== d.negated;
  },
  parsePrint(s) {
    const m = s.match(/(! )?state (\S+)/);
    if (!m) return undefined;
    return { negated: m[1] !== undefined, states: m[2]!.split(",") as StateName[] };
  },
};
