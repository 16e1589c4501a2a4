/**
 * `add @s { ip saddr }`, `update @m { ip saddr timeout 10s limit rate over 10/second : 0x1 }`,
 * `delete @s { ... }`: a rule changing a named set or map, with statements the element carries
 * (the meter idiom).
 *
 * Evaluated per history: a later lookup in the same traversal sees the change, another history
 * never does. `add` of an element already there changes nothing; `update` refreshes it. Of the
 * statements an element carries, its limit and quota decide whether the rule goes on.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftExpr, NftSetStmt, NftStmt } from "../../../model/nft.js";
import { NEXT, valueOrStop, type NftStmtEnv, type NftStmtOps, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { Val } from "../../../model/nft-values.js";
import type { StmtJsonReader, StmtKind, StmtPrinter, StmtWordReader } from "./types.js";

export const setop: StmtKind<NftSetStmt> = {
  kind: "setop",
  words: ["add", "update", "delete"],
  starts: (r) => r.peek(1)?.startsWith("@") === true,
  read,
  jsonKeys: ["set", "map"],
  readJson,
  print,
  evaluate,
  setsChanged: (s) => [s.set],
};

function read(r: StmtWordReader): NftSetStmt | undefined {
  const op = r.take() as NftSetStmt["op"];
  const set = r.take().slice(1);
  return r.nested(() => readElement(r, op, set));
}

/** `{ KEY [timeout T] [STATEMENTS] [: DATA] }`. */
function readElement(r: StmtWordReader, op: NftSetStmt["op"], set: string): NftSetStmt | undefined {
  if (!r.expect("{")) return undefined;
  const key = readKey(r, r.setTypes(set)?.keyType);
  if (key === undefined) return undefined;
  const s: NftSetStmt = { kind: "setop", op, set, key };
  for (;;) {
    if (r.accept("timeout")) {
      const d = r.duration(r.peek() ?? "");
      if (d === undefined) return r.fail("a time such as 10s");
      r.take();
      s.timeout = d;
      continue;
    }
    if (r.is("}") || r.is(":")) break;
    if (r.atEnd()) return r.fail('"}"');
    const st = r.statement();
    if (st === undefined) return undefined;
    (s.stmts ??= []).push(st);
  }
  if (r.accept(":")) {
    const data = r.value(r.setTypes(set)?.dataType ?? [r.rawType]);
    if (data === undefined) return undefined;
    s.data = data;
  }
  if (!r.expect("}")) return undefined;
  return s;
}

/** A set statement's key: expressions and constants joined by `.` (`ip saddr . 10002`). */
function readKey(r: StmtWordReader, types: string[] | undefined): NftExpr | undefined {
  const parts: NftExpr[] = [];
  do {
    const p = r.startsExpression() ? r.primary() : r.atom(types?.[parts.length] ?? r.rawType);
    if (p === undefined) return undefined;
    parts.push(p);
  } while (r.accept("."));
  return parts.length === 1 ? parts[0] : { kind: "concat", parts };
}

/** `{"set": {"op", "elem", "set": "@s", "stmt"?}}`, `{"map": {..., "data"}}`. */
function readJson(key: string, v: JsonNode, _n: JsonNode, j: StmtJsonReader): NftSetStmt | undefined {
  const { r } = j;
  const kind = key as "set" | "map";
  const what = `${kind} statement`;
  const o = r.fields(v, what);
  if (!o) return undefined;
  const op = r.oneOf(o, "op", what, ["add", "update", "delete"] as const);
  // The set statement names its set in "set", the map statement in "map".
  const setName = r.needStr(v, o, kind, what);
  const e = o.get("elem");
  if (op === undefined) r.error(v, `a ${what} has no "op"`, '"add", "update" or "delete"');
  if (!op || setName === undefined) return undefined;
  if (!e) return void r.error(v, `a ${what} has no "elem"`, "the element");
  const set = setName.replace(/^@/, "");
  const types = j.setTypes(set);
  if (!types && j.table !== undefined) r.error(o.get(kind)!.value, `no set or map ${JSON.stringify(set)} in table ${j.table}`, "a set or map declared before the rule");
  const el = j.element(e.value, types?.key);
  if (!el) return undefined;
  const st: NftSetStmt = { kind: "setop", op, set, key: el.key };
  if (el.timeout !== undefined) st.timeout = el.timeout;
  const d = o.get("data");
  if (d) {
    const data = j.expr(d.value, types?.data, `${what} value`);
    if (!data) return undefined;
    st.data = data;
  }
  const stmtList = o.get("stmt");
  if (stmtList) {
    const stmts: NftStmt[] = [];
    for (const item of j.list(stmtList.value, `${what} "stmt"`, "a list of statements") ?? []) {
      const x = j.stmt(item);
      if (x) stmts.push(x);
    }
    st.stmts = stmts;
  }
  return st;
}

function print(s: NftSetStmt, p: StmtPrinter): string {
  let inner = p.expr(s.key);
  if (s.timeout !== undefined) inner += ` timeout ${p.duration(s.timeout)}`;
  for (const st of s.stmts ?? []) inner += ` ${p.stmt(st)}`;
  if (s.data !== undefined) inner += ` : ${p.expr(s.data)}`;
  return `${s.op} @${s.set} { ${inner} }`;
}

function evaluate(s: NftSetStmt, env: NftStmtEnv, ops: NftStmtOps): StmtResult {
  const k = valueOrStop(env.eval(s.key), s, ops);
  if (!("val" in k)) return k;
  let data: Val | undefined;
  if (s.data) {
    const d = valueOrStop(env.eval(s.data), s, ops);
    if (!("val" in d)) return d;
    data = d.val;
  }
  if (s.op === "delete") ops.changeSet(env, s.set, k.val, { present: false });
  // `add` of an element already there changes nothing; `update` refreshes it.
  else if (s.op === "update" || !ops.inSet(env, s.set, k.val)) ops.changeSet(env, s.set, k.val, { present: true, ...(data !== undefined ? { data } : {}) });
  env.br.notes.push({ kind: "set", name: s.set, del: s.op === "delete" });
  // Statements carried by the element (the meter idiom: `add @m { ip saddr limit rate over 10/second }`).
  for (const st of s.stmts ?? []) {
    if (st.kind === "limit" || st.kind === "quota") {
      const r = ops.run(st, env);
      if (r.kind !== "next") return r;
    }
  }
  return NEXT;
}
