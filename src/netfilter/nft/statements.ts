/**
 * What each nft statement does to a branch. Each statement kind evaluates itself
 * (src/extensions/nft/statements/, through its registry) with what only the evaluator can do
 * at hand (`OPS`: naming a statement as the listing does, a named set's state on this
 * history); the rule's own structure is evaluated here: a relation (its test), a verdict, a
 * verdict map.
 */
import type { Hook, IpsetView, NodeView, StateAssumptions } from "../../model/evaluation.js";
import type { NftElement, NftExpr, NftMatch, NftSetLiteral, NftStmt } from "../../model/nft.js";
import {
  asAction, NEXT, valueOrStop, verdictResult, type ElementChange, type NftStmtEnv, type NftStmtOps, type StmtResult,
} from "../../model/nft-statement-evaluation.js";
import { statementKind } from "../../extensions/nft/statements/registry.js";
import type { Branch } from "../branch.js";
import type { Binding, NftEnv } from "./expr/env.js";
import type { NftExprEnv } from "../../model/nft-evaluation.js";
import { partialTest, planOf, relational, testOf, type Plan } from "./relational.js";
import { readerOf } from "./expr/index.js";
import { findElement, namedSet, setMemo, type SetMemo } from "./expr/lookup.js";
import { literalSet, type NftCompiledTable } from "./compile.js";
import { lookup, type CompiledSet } from "./sets.js";
import { changeElement } from "./set-state.js";
import type { Scalar, Val, XVal } from "../../model/nft-values.js";
import { elementText, exprText, stmtText } from "./rule-text.js";

export { NEXT, type StmtResult } from "../../model/nft-statement-evaluation.js";

/** The walk's environment, as statements see it (its fields as NftEnv has them, writable between walks). */
export interface StmtEnv extends NftEnv, NftStmtEnv {
  br: Branch;
  hook: Hook;
  node: NodeView;
  table: NftCompiledTable;
  assumed: StateAssumptions;
  beforeConntrack: boolean;
  bindings: Binding | undefined;
  ipsets: IpsetView;
  /** The chain's type: nat statements are only loaded in nat chains. */
  chainType: "filter" | "nat" | "route";
}

/**
 * The result of a statement whose test failed: one per statement, made once (most rules a
 * packet meets fail a test, and a trace words the failure only when it shows the rule).
 */
const FAILED = new WeakMap<NftStmt, StmtResult>();
function failedAt(s: NftStmt): StmtResult {
  let r = FAILED.get(s);
  if (!r) {
    r = { kind: "break", failed: s.kind === "vmap" ? () => `${exprText(s.key)} vmap: no element for the key` : () => stmtText(s) };
    FAILED.set(s, r);
  }
  return r;
}

/**
 * What a statement kind asks of the evaluator. The environment it is handed back is the
 * evaluator's own (a kind is only ever run from here, with the walk's environment).
 */
const OPS: NftStmtOps = {
  text: stmtText,
  exprText,
  failed: failedAt,
  inSet(env, set, key) {
    const f = findElement({ kind: "setref", name: set }, key, env as StmtEnv);
    return "found" in f && f.found;
  },
  changeSet(env, set, key, change: ElementChange) {
    const e = env as StmtEnv;
    changeElement(e.br, e.table, set, key, change);
  },
  run: (s, env) => runStmt(s, env as StmtEnv),
  reader: (e) => readerOf(e) as (env: NftExprEnv) => XVal,
};

/** What a value does in a stopping test: no value, the rule stops. */
function valueOf(e: NftExpr, env: StmtEnv, s: NftStmt): { val: Val } | StmtResult {
  return valueOrStop(env.eval(e), s, OPS);
}

/**
 * A verdict map written out in the rule (`numgen random mod 3 vmap { 0 : goto ..., ... }`,
 * met by every history of a fork): its compiled set and each element's verdict at hand in
 * the statement, in place of a side table's lookup for each. An anonymous map has no state a
 * rule can change (only named sets have), so the lookup is vmapOf's without it.
 */
function prepareLiteralVmap(s: Extract<NftStmt, { kind: "vmap" }>, lit: NftSetLiteral): PreparedStmt {
  let cs: CompiledSet | undefined;
  const verdicts: Array<StmtResult | undefined> = [];
  const failed = failedAt(s);
  return (env) => {
    const k = valueOf(s.key, env, s);
    if (!("val" in k)) return asAction(k);
    const i = lookup((cs ??= literalSet(lit)), k.val);
    if (i === undefined) return failed;
    return (verdicts[i] ??= elementVerdict(cs.elements[i]!));
  };
}

/** What a verdict map's element gives. */
function elementVerdict(el: NftElement): StmtResult {
  const d = el.data;
  if (!d || d.kind !== "verdict") return { kind: "unknown-action", why: `the element ${elementText(el)} holds no verdict` };
  return verdictOf(d, el);
}

/** A verdict map's verdict for the key's value (`memo`: the statement's, when it keeps one). */
function vmapOf(s: Extract<NftStmt, { kind: "vmap" }>, key: Val, env: StmtEnv, memo?: SetMemo): StmtResult {
  const f = findElement(s.map, key, env, memo);
  if ("indeterminate" in f) return { kind: "unknown-action", why: f.indeterminate };
  // No element: the rule stops, its later statements unrun (checked in a netns).
  if (!f.found || !f.element) return failedAt(s);
  return elementVerdict(f.element);
}

/**
 * The result of a verdict statement, or of a verdict map's element (which its step names,
 * printed once: a 10k-service map's elements are met again and again), made once each.
 */
const VERDICTS = new WeakMap<NftStmt | NftElement, StmtResult>();

function verdictOf(d: Extract<NftExpr, { kind: "verdict" }> | Extract<NftStmt, { kind: "verdict" }>, from: NftStmt | NftElement): StmtResult {
  let r = VERDICTS.get(from);
  if (!r) {
    const element = "key" in from ? elementText(from) : undefined;
    r = verdictResult(d.verdict, d.chain, undefined, element, d.chain !== undefined ? d : undefined);
    VERDICTS.set(from, r);
  }
  return r;
}

/** A relational statement's result, its left side's value given. */
function matchResult(s: NftMatch, lv: XVal, env: StmtEnv, plan: Plan): StmtResult {
  if ("indeterminate" in lv && lv.partial) {
    const t = partialTest(s, lv.partial);
    if (t !== undefined) return t ? NEXT : failedAt(s);
  }
  const l = valueOrStop(lv, s, OPS);
  if (!("val" in l)) return l;
  const t = relational(s, plan, l.val, env);
  if (t === true) return NEXT;
  if (t === false) return failedAt(s);
  if ("choose" in t) return { kind: "choose", choices: t.choose, expr: t.expr };
  return { kind: "unknown-test", why: t.indeterminate };
}

/** A statement ready to run: runStmt with what does not depend on the packet worked out once. */
export type PreparedStmt = (env: StmtEnv) => StmtResult;

/**
 * Prepares a rule's statement, once per rule: a test reads its left side without going through
 * the expression registry (a header field, a meta or ct key) and has its right side's kind and
 * its failure at hand; a verdict is its result. Every other statement is its kind's evaluation.
 */
export function prepareStmt(s: NftStmt): PreparedStmt {
  switch (s.kind) {
    case "match": {
      const read = readerOf(s.left);
      const test = testOf(s);
      const plan = planOf(s);
      const failed = failedAt(s);
      return (env) => {
        const lv = read(env);
        if (!("val" in lv)) return matchResult(s, lv, env, plan);
        const t = test(lv.val, env);
        // (Told by its type first: a test's answer is a boolean or an object, and `=== true` on either is the engine's generic equality.)
        if (typeof t === "boolean") return t ? NEXT : failed;
        return matchResult(s, lv, env, plan);
      };
    }
    case "verdict": {
      const r = verdictOf(s, s);
      return () => r;
    }
    case "vmap":
      return prepareVmap(s);
    default: {
      const kind = statementKind(s)!;
      if (kind.prepare) return kind.prepare(s, OPS) as PreparedStmt;
      return (env) => kind.evaluate(s, env, OPS);
    }
  }
}

/** Expressions that read one field and nest nothing: their value is never a list. */
const isLeaf = (e: NftExpr): boolean => e.kind === "payload" || e.kind === "meta" || e.kind === "ct";

/**
 * A verdict map keyed by a concatenation of header fields (kube-proxy's `ip daddr . meta
 * l4proto . th dport vmap @service-ips`): the parts read into one list the statement keeps, in
 * place of a new list and its value per packet. The lookup keeps nothing of the key (the set
 * state words it as a string), and a walk never runs a statement inside another, so the list
 * is free again when the statement returns.
 */
function prepareVmap(s: Extract<NftStmt, { kind: "vmap" }>): PreparedStmt {
  const key = s.key;
  if (s.map.kind === "set") return prepareLiteralVmap(s, s.map);
  if (key.kind !== "concat" || !key.parts.every(isLeaf)) return (env) => runStmt(s, env);
  const readers = key.parts.map(readerOf);
  const parts: Scalar[] = readers.map(() => 0);
  const memo = setMemo();
  const failed = failedAt(s);
  const name = s.map.name;
  // Each element's verdict by its position in the compiled set `of` (the memo's set): a map's elements are met again and again.
  let of: CompiledSet | undefined;
  let verdicts: Array<StmtResult | undefined> = [];
  return (env) => {
    for (let i = 0; i < readers.length; i++) {
      const v = readers[i]!(env);
      // As the concatenation's own evaluation: the first part without a value decides.
      if (!("val" in v)) return asAction(valueOrStop(v, s, OPS) as StmtResult);
      parts[i] = v.val as Scalar;
    }
    // A history that changed no set's elements finds the compiled map as it was loaded: vmapOf's answer, from the position at hand.
    if (env.br.nftSets !== undefined) return vmapOf(s, parts, env, memo);
    const cs = namedSet(env.table, name, memo);
    if (cs === undefined) return vmapOf(s, parts, env, memo);
    const i = lookup(cs, parts);
    if (i === undefined) return failed;
    if (of !== cs) {
      of = cs;
      verdicts = [];
    }
    return (verdicts[i] ??= elementVerdict(cs.elements[i]!));
  };
}

/** A statement run as it is, nothing prepared (what a set element's statement gets; exported for the test that holds prepared statements to it). */
export function runStmt(s: NftStmt, env: StmtEnv): StmtResult {
  switch (s.kind) {
    case "match":
      return matchResult(s, env.eval(s.left), env, planOf(s));
    case "verdict":
      return verdictOf(s, s);
    case "vmap": {
      const k = valueOf(s.key, env, s);
      if (!("val" in k)) return asAction(k);
      return vmapOf(s, k.val, env);
    }
    default:
      return statementKind(s)!.evaluate(s, env, OPS);
  }
}
