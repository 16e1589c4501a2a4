/**
 * Assertions on evaluations that read well in a test and, when they fail, show the whole
 * trace. They follow the `expect.extend` protocol that vitest and jest share, so they work
 * with either (`netfate/testing/vitest` registers them with vitest and types them).
 *
 * The first four hold when **every** outcome satisfies them (a `statistic` branch that goes
 * elsewhere fails them); the `...WithProbability` ones weigh the outcomes instead, which is
 * how to say "never" (probability 0) or "one time in three".
 */
import type { Evaluation } from "../netfilter/model.js";
import type { Outcome } from "../model/evaluation.js";
import { traceText } from "../explain/text.js";
import { PLAIN } from "../explain/colour.js";
import { fateText, probabilityText } from "../explain/describe.js";
import { droppedBy, NoProbability, probabilityOf, reaches, type Destination } from "./fates.js";

export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/** What the framework passes as `this`; only `isNot` is read. */
interface MatcherContext {
  isNot?: boolean;
}

const DEFAULT_TOLERANCE = 1e-9;

function isEvaluation(v: unknown): v is Evaluation {
  return typeof v === "object" && v !== null && Array.isArray((v as Evaluation).outcomes) && typeof (v as Evaluation).packet === "object";
}

function check(received: unknown): Evaluation {
  if (!isEvaluation(received)) throw new TypeError("expected an evaluation (what node.evaluate(packet) returns)");
  return received;
}

function fates(e: Evaluation): string {
  return e.outcomes.map((o) => `${fateText(o.fate)} (probability ${probabilityText(o.probability)})`).join("; ");
}

function everyOutcome(ctx: MatcherContext, received: unknown, what: string, pred: (o: Outcome) => boolean): MatcherResult {
  const e = check(received);
  const pass = e.outcomes.length > 0 && e.outcomes.every(pred);
  return {
    pass,
    message: () =>
      `expected the packet ${ctx.isNot ? "not " : ""}to be ${what} in every outcome, but: ${fates(e)}\n\n${traceText(e, { palette: PLAIN })}`,
  };
}

function withProbability(ctx: MatcherContext, received: unknown, what: string, pred: (o: Outcome) => boolean, p: number, tolerance: number): MatcherResult {
  const e = check(received);
  let got: number;
  try {
    got = probabilityOf(e, pred);
  } catch (err) {
    if (!(err instanceof NoProbability)) throw err;
    // Neither pass nor its negation can be claimed: fail both ways, saying why.
    return { pass: ctx.isNot === true, message: () => `cannot weigh the packet's outcomes: ${err.message}\n\n${traceText(e, { palette: PLAIN })}` };
  }
  return {
    pass: Math.abs(got - p) <= tolerance,
    message: () =>
      `expected the packet ${ctx.isNot ? "not " : ""}to be ${what} with probability ${p} (±${tolerance}), but it is with ${got}: ${fates(e)}\n\n${traceText(e, { palette: PLAIN })}`,
  };
}

export const netfateMatchers = {
  /** Every outcome delivers, forwards or sends the packet (no drop, no reject, nothing unknown). */
  toBeDelivered(this: MatcherContext, received: unknown): MatcherResult {
    return everyOutcome(this, received, "delivered", (o) => o.fate.kind === "delivered" || o.fate.kind === "forwarded" || o.fate.kind === "sent");
  },
  /** Every outcome arrives at `dest`: "local", an interface, or an address[:port] after DNAT. */
  toBeDeliveredTo(this: MatcherContext, received: unknown, dest: Destination): MatcherResult {
    return everyOutcome(this, received, `delivered to ${dest}`, (o) => reaches(o, dest));
  },
  /** Every outcome is a drop or reject. */
  toBeDropped(this: MatcherContext, received: unknown): MatcherResult {
    return everyOutcome(this, received, "dropped", (o) => droppedBy(o));
  },
  /** Every outcome is dropped by `ref`: "CHAIN", "table/CHAIN", "CHAIN#3", "CHAIN:policy" or rule text. */
  toBeDroppedBy(this: MatcherContext, received: unknown, ref: string): MatcherResult {
    const fam = isEvaluation(received) ? received.packet.family : "ipv4";
    return everyOutcome(this, received, `dropped by ${ref}`, (o) => droppedBy(o, ref, fam));
  },
  /** The outcomes that arrive at `dest` weigh `p` together. */
  toReachWithProbability(this: MatcherContext, received: unknown, dest: Destination, p: number, tolerance = DEFAULT_TOLERANCE): MatcherResult {
    return withProbability(this, received, `delivered to ${dest}`, (o) => reaches(o, dest), p, tolerance);
  },
  /** The outcomes that are dropped (by `ref`, when given) weigh `p` together. */
  toBeDroppedWithProbability(this: MatcherContext, received: unknown, p: number, ref?: string, tolerance = DEFAULT_TOLERANCE): MatcherResult {
    const fam = isEvaluation(received) ? received.packet.family : "ipv4";
    return withProbability(this, received, ref ? `dropped by ${ref}` : "dropped", (o) => droppedBy(o, ref, fam), p, tolerance);
  },
};

/** The matchers' signatures as `expect(evaluation)` sees them, for type augmentation. */
export interface NetfateMatchers<R = unknown> {
  toBeDelivered(): R;
  toBeDeliveredTo(dest: Destination): R;
  toBeDropped(): R;
  toBeDroppedBy(ref: string): R;
  toReachWithProbability(dest: Destination, p: number, tolerance?: number): R;
  toBeDroppedWithProbability(p: number, ref?: string, tolerance?: number): R;
}
