/**
 * Questions a test asks of an evaluation, independent of any test framework: where did the
 * packet end up, which rule dropped it, how likely is each end. The matchers (matchers.ts)
 * and users' own `fc.property` bodies both use these.
 */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome, Step } from "../model/evaluation.js";
import { isDrop, stepRuleText } from "../explain/describe.js";

/**
 * Where a packet may be said to arrive:
 * - "local": delivered to a socket on this node;
 * - an interface name ("docker0", "eth0"): forwarded or sent out of it;
 * - an address, with or without a port ("172.17.0.2", "172.17.0.2:80", "[fd00::1]:80"):
 *   delivered, forwarded or sent with that destination after every rewrite (DNAT).
 */
export type Destination = string;

function splitEndpoint(d: string): { addr: string; port?: number } | undefined {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(d);
  if (v6) return v6[2] !== undefined ? { addr: v6[1]!, port: Number(v6[2]) } : { addr: v6[1]! };
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(d);
  if (v4) return v4[2] !== undefined ? { addr: v4[1]!, port: Number(v4[2]) } : { addr: v4[1]! };
  if (/^[0-9a-fA-F:]+$/.test(d) && d.includes(":")) return { addr: d };
  return undefined;
}

/** True when the outcome's packet arrives at `d` (see Destination). */
export function reaches(o: Outcome, d: Destination): boolean {
  const f = o.fate;
  const passed = f.kind === "delivered" || f.kind === "forwarded" || f.kind === "sent";
  if (!passed) return false;
  if (d === "local") return f.kind === "delivered";
  const ep = splitEndpoint(d);
  if (!ep) return f.kind !== "delivered" && f.iface === d;
  return o.final.dst === ep.addr && (ep.port === undefined || o.final.dport === ep.port);
}

/**
 * Outcomes resting on different undecided conditions (`given`) are alternatives, not chances:
 * no probability adds them up. Thrown by probabilityOf rather than returning a made-up number.
 */
export class NoProbability extends Error {}

/**
 * The total probability of the outcomes that satisfy `pred`. Defined only when every outcome
 * rests on the same undecided conditions (usually none); otherwise NoProbability says which.
 */
export function probabilityOf(e: Evaluation, pred: (o: Outcome) => boolean): number {
  const sets = new Set(e.outcomes.map((o) => (o.given ?? []).join("\u0001")));
  if (sets.size > 1) {
    const conditions = [...new Set(e.outcomes.flatMap((o) => o.given ?? []))];
    throw new NoProbability(`the outcomes are alternatives that rest on what the input does not say, not chances: ${conditions.join("; ")}. Give the facts or rules they ask for`);
  }
  return e.outcomes.reduce((sum, o) => (pred(o) ? sum + o.probability : sum), 0);
}

/** The step that decided a drop: the matching DROP/REJECT rule or the policy. */
export function decidingStep(o: Outcome): Step | undefined {
  if (!isDrop(o)) return undefined;
  for (let i = o.steps.length - 1; i >= 0; i--) if (o.steps[i]!.matched || o.steps[i]!.rule === "policy") return o.steps[i];
  return undefined;
}

/**
 * True when the outcome is a drop or reject decided by `ref`, which may be a chain name
 * ("KUBE-FIREWALL"), "table/chain", "chain#3" (the rule number as iptables-save lists it),
 * "chain:policy", or a piece of the rule's text ("--comment \"block metadata\"").
 * Without `ref`, any drop or reject.
 */
export function droppedBy(o: Outcome, ref?: string, family: "ipv4" | "ipv6" = "ipv4"): boolean {
  if (!isDrop(o)) return false;
  if (ref === undefined) return true;
  const f = o.fate as Extract<Outcome["fate"], { kind: "dropped" | "rejected" }>;
  const numbered = /^(?:([a-z]+)\/)?([^\s#/:]+)(?:#(\d+)|:(policy))?$/.exec(ref);
  if (numbered) {
    const [, table, chain, num, policy] = numbered;
    if ((table === undefined || table === f.table) && chain === f.chain) {
      if (num !== undefined) return f.rule === Number(num);
      if (policy !== undefined) return f.rule === "policy";
      return true;
    }
    if (table !== undefined || num !== undefined || policy !== undefined) return false;
  }
  const s = decidingStep(o);
  return s !== undefined && stepRuleText(s, family).includes(ref);
}
