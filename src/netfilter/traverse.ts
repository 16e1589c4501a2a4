/**
 * Runs a packet branch through one table's built-in chain: rules in order, jumps and gotos,
 * RETURN, falling off user chains, policies — forking where a match branches or cannot be
 * decided. The steps it records are the trace; there is no second walker.
 */
import type { Family, TableName } from "../model/ast.js";
import { ruleSpecText } from "../print/save.js";
import { addressText } from "../syntax/address.js";
import { isUnknown } from "../model/ast.js";
import type { CompiledChain, CompiledRule, CompiledRuleset, AddrCheck, IfaceCheck } from "./compile.js";
import { inNet, ipToNum, type IpNum } from "./ipnum.js";
import { fork, snapshot, type Branch } from "./branch.js";
import type { EvalEnv, Hook, IpsetView, NodeView, Step, TargetEffects } from "./types.js";
import { hex } from "../extensions/util.js";

export interface TraverseContext {
  rules: CompiledRuleset;
  node: NodeView;
  ipsets: IpsetView;
  /** Record rules tried that did not match, with the first failing condition. */
  verbose: boolean;
  family: Family;
}

export type TableVerdict = "ACCEPT" | "DROP" | "REJECT" | "QUEUE" | "ERROR" | "INDETERMINATE";

export interface TableResult {
  br: Branch;
  verdict: TableVerdict;
  /** Where a terminal verdict was given. */
  chain?: string;
  rule?: number | "policy";
  detail?: string;
}

type ChainVerdict = TableVerdict | "RETURN";

interface ChainResult {
  br: Branch;
  verdict: ChainVerdict;
  chain?: string;
  rule?: number | "policy";
  detail?: string;
}

/** Depth of nested jumps the kernel allows before it reports a loop (XT_STACK... we use a generous bound). */
const MAX_DEPTH = 200;

const numCache = new Map<string, IpNum | undefined>();
function num(ip: string, family: Family): IpNum | undefined {
  let n = numCache.get(ip);
  if (n === undefined && !numCache.has(ip)) {
    n = ipToNum(ip, family);
    if (numCache.size > 100_000) numCache.clear();
    numCache.set(ip, n);
  }
  return n;
}

type Test = true | false | { indeterminate: string };

export const HIDDEN_IFACES = "the listing has no -v columns: rules are read as having no -i/-o interface (give iptables-save or -nvL output to be sure)";

function addrTest(check: AddrCheck, ip: string, family: Family): Test {
  if ("indeterminate" in check) return check;
  const n = num(ip, family);
  if (n === undefined) return { indeterminate: `packet address ${ip} is not ${family}` };
  return inNet(n, check) !== check.negated;
}

/** iptables interface matching: exact, or prefix with `+`; no interface compares as "". */
function ifaceTest(check: IfaceCheck, name: string | undefined): Test {
  if ("indeterminate" in check) return check;
  const n = name ?? "";
  const hit = check.prefix ? n.startsWith(check.name) : n === check.name;
  return hit !== check.negated;
}

function describeAddr(flag: string, r: CompiledRule): string {
  const a = flag === "-s" ? r.rule.source : r.rule.destination;
  if (!a || isUnknown(a)) return flag;
  if ("hostname" in a) return `${a.negated ? "! " : ""}${flag} ${a.hostname}`;
  return `${a.negated ? "! " : ""}${flag} ${addressText(a)}`;
}

interface Pending {
  br: Branch;
  /** Index of the next match of the rule to test. */
  next: number;
}

/**
 * Tests a rule against a branch. Returns the branches under which it matched and those under
 * which it did not (with the first failing condition); without forks, one of the two is a
 * single branch and the other empty.
 */
function testRule(
  cr: CompiledRule, br: Branch, ctx: TraverseContext, hook: Hook, table: TableName,
): { yes: Branch[]; no: { br: Branch; failed: string }[] } {
  const p = br.pkt;
  const fam = ctx.family;
  const yes: Branch[] = [];
  const no: { br: Branch; failed: string }[] = [];
  // Core tests decide without forking unless a field is unknown.
  const core: Array<[Test, string]> = [];
  if (cr.src) core.push([addrTest(cr.src, p.src, fam), describeAddr("-s", cr)]);
  if (cr.dst) core.push([addrTest(cr.dst, p.dst, fam), describeAddr("-d", cr)]);
  // A listing without -v hides every rule's interfaces. Forking on each would multiply the
  // outcomes by two per rule, so netfate reads such rules as having none, and says so.
  const hidden = (c: IfaceCheck | undefined) => c !== undefined && "indeterminate" in c;
  if (hidden(cr.inIface) || hidden(cr.outIface)) {
    if (!br.assumptions.includes(HIDDEN_IFACES)) br.assumptions.push(HIDDEN_IFACES);
  }
  if (cr.inIface && !hidden(cr.inIface)) core.push([ifaceTest(cr.inIface, p.inIface), `${"negated" in cr.inIface && cr.inIface.negated ? "! " : ""}-i ${"name" in cr.inIface ? cr.inIface.name + (cr.inIface.prefix ? "+" : "") : "?"}`]);
  if (cr.outIface && !hidden(cr.outIface)) core.push([ifaceTest(cr.outIface, p.outIface), `${"negated" in cr.outIface && cr.outIface.negated ? "! " : ""}-o ${"name" in cr.outIface ? cr.outIface.name + (cr.outIface.prefix ? "+" : "") : "?"}`]);
  if (cr.proto) core.push([(p.proto === cr.proto.number) !== cr.proto.negated, `${cr.proto.negated ? "! " : ""}-p ${cr.rule.protocol?.name ?? cr.proto.number}`]);
  if (cr.fragment) core.push([p.fragment !== cr.fragment.negated, `${cr.fragment.negated ? "! " : ""}-f`]);

  let live: Branch[] = [br];
  for (const [t, what] of core) {
    if (t === true) continue;
    if (t === false) {
      for (const b of live) no.push({ br: b, failed: what });
      return { yes, no };
    }
    const next: Branch[] = [];
    for (const b of live) {
      next.push(fork(b, 1, `${what}: assumed to match (${t.indeterminate})`));
      no.push({ br: fork(b, 1, `${what}: assumed not to match (${t.indeterminate})`), failed: what });
    }
    live = next;
  }
  const queue: Pending[] = live.map((b) => ({ br: b, next: 0 }));
  while (queue.length) {
    const { br: b, next } = queue.pop()!;
    if (next >= cr.matches.length) {
      yes.push(b);
      continue;
    }
    const m = cr.matches[next]!;
    // Described only when a trace needs the words (a failure or an assumption).
    const describe = (): string =>
      m.kind === "extension" ? `-m ${m.node.name}${m.ext.save(m.node.data, { family: fam, protocol: cr.rule.protocol, numeric: true })}` : m.reason;
    let res;
    if (m.kind === "unknown") res = { indeterminate: m.reason };
    else if (!m.ext.evaluate) res = { indeterminate: `netfate cannot evaluate -m ${m.ext.name} yet` };
    else {
      const env: EvalEnv = { packet: b.pkt, hook, table, node: ctx.node, ipsets: ctx.ipsets };
      res = m.ext.evaluate(m.node.data, env);
    }
    if (res === true) queue.push({ br: b, next: next + 1 });
    else if (res === false) no.push({ br: b, failed: ctx.verbose ? describe() : "" });
    else if ("indeterminate" in res) {
      const what = describe();
      queue.push({ br: fork(b, 1, `${what}: assumed to match (${res.indeterminate})`), next: next + 1 });
      no.push({ br: fork(b, 1, `${what}: assumed not to match (${res.indeterminate})`), failed: what });
    } else {
      const what = describe();
      for (const alt of res.branches) {
        if (alt.probability <= 0) continue;
        const nb = fork(b, alt.probability, undefined);
        nb.notes.push(alt.label);
        if (alt.matched) queue.push({ br: nb, next: next + 1 });
        else no.push({ br: nb, failed: `${what} (${alt.label})` });
      }
    }
  }
  return { yes, no };
}

/** Rule indices to try, in order: everything, or what the chain index says can match. */
function candidates(chain: CompiledChain, br: Branch, start: number, ctx: TraverseContext): number[] | undefined {
  const idx = chain.index;
  if (!idx || ctx.verbose) return undefined;
  const d = num(br.pkt.dst, ctx.family);
  const key = d === undefined ? undefined : typeof d === "number" ? d : d.join(":");
  const byDst = key === undefined ? undefined : idx.byDst.get(key);
  const byPort = br.pkt.dport === undefined ? undefined : idx.byDport.get(br.pkt.dport);
  // Merge three sorted lists.
  const lists = [idx.always, byDst ?? [], byPort ?? []];
  const out: number[] = [];
  const pos = [0, 0, 0];
  for (;;) {
    let best = -1;
    let bestVal = Infinity;
    for (let k = 0; k < 3; k++) {
      const v = lists[k]![pos[k]!];
      if (v !== undefined && v < bestVal) {
        bestVal = v;
        best = k;
      }
    }
    if (best < 0) break;
    pos[best]!++;
    if (bestVal >= start) out.push(bestVal);
  }
  return out;
}

function step(hook: Hook, table: TableName, chain: string, cr: CompiledRule | undefined, verdict: string): Step {
  const s: Step = { hook, table, chain, rule: cr ? cr.index + 1 : "policy", verdict, matched: true };
  if (cr) s.ruleNode = cr.rule;
  return s;
}

function effects(br: Branch, ctx: TraverseContext, cr: CompiledRule): TargetEffects {
  return {
    setMark: (v) => void (br.pkt.mark = v >>> 0),
    setCtMark: (v) => void (br.pkt.ct.mark = v >>> 0),
    notrack: () => void (br.pkt.ct.state = "UNTRACKED"),
    setCtZone: (z) => void (br.pkt.ct.zone = z),
    setHelper: (h) => void (br.pkt.ct.helper = h),
    rewrite: (field, value) => void br.notes.push(`${field} → ${typeof value === "number" ? hex(value) : value}`),
    nat: (kind, to, how) => {
      br.pendingNat = { kind, how, ...(to.addr !== undefined ? { addr: to.addr } : {}), ...(to.port !== undefined ? { port: to.port } : {}) };
    },
    log: (line) => void br.notes.push(`log: ${line}`),
    setAdd: (name, flags, del) => {
      const t = { src: br.pkt.src, dst: br.pkt.dst, proto: br.pkt.proto, sport: br.pkt.sport, dport: br.pkt.dport, inIface: br.pkt.inIface, outIface: br.pkt.outIface } as const;
      if (del) ctx.ipsets.del(name, t, flags);
      else ctx.ipsets.add(name, t, flags);
      br.notes.push(`${del ? "deleted from" : "added to"} set ${name}`);
    },
  } satisfies TargetEffects;
  void cr;
}

/** The fields a step may change, kept as plain values so an unchanged packet costs no allocation. */
interface Before {
  src: string;
  dst: string;
  sport: number | undefined;
  dport: number | undefined;
  mark: number;
  ctmark: number;
  ctstate: string;
}

function before(p: Branch["pkt"]): Before {
  return { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, mark: p.mark, ctmark: p.ct.mark, ctstate: p.ct.state };
}

function finishStep(s: Step, br: Branch, b: Before): void {
  const p = br.pkt;
  const changed = b.src !== p.src || b.dst !== p.dst || b.sport !== p.sport || b.dport !== p.dport || b.mark !== p.mark || b.ctmark !== p.ct.mark || b.ctstate !== p.ct.state;
  if (!changed && br.notes.length === 0) return;
  const rewrites: string[] = [];
  if (b.mark !== p.mark) rewrites.push(`mark ${hex(b.mark)} → ${hex(p.mark)}`);
  if (b.ctmark !== p.ct.mark) rewrites.push(`ctmark ${hex(b.ctmark)} → ${hex(p.ct.mark)}`);
  if (b.ctstate !== p.ct.state) rewrites.push(`ctstate ${b.ctstate} → ${p.ct.state}`);
  for (const n of br.notes) {
    if (n.startsWith("log: ")) s.log = n.slice(5);
    else if (n.startsWith("statistic")) s.branch = n;
    else rewrites.push(n);
  }
  br.notes = [];
  if (rewrites.length) s.rewrites = rewrites;
  if (changed) s.packet = snapshot(p);
}

function walk(
  br: Branch, chain: CompiledChain, start: number, depth: number, hook: Hook, ctx: TraverseContext,
): ChainResult[] {
  const table = chain.table;
  const tableChains = ctx.rules.tables.get(table)!.chains;
  const out: ChainResult[] = [];
  let cand = candidates(chain, br, start, ctx);
  let ci = 0;
  let i = start;
  for (;;) {
    let ruleIndex: number;
    if (cand) {
      if (ci >= cand.length) break;
      ruleIndex = cand[ci++]!;
    } else {
      if (i >= chain.rules.length) break;
      ruleIndex = i++;
    }
    const cr = chain.rules[ruleIndex]!;
    const { yes, no } = testRule(cr, br, ctx, hook, table);
    const pendingNotes = br.notes;
    void pendingNotes;
    if (yes.length === 0 && no.length === 1 && no[0]!.br === br) {
      if (ctx.verbose) br.steps.push({ ...step(hook, table, chain.name, cr, "NO MATCH"), matched: false, failed: no[0]!.failed });
      continue;
    }
    // Forked, or matched: each branch continues on its own.
    const matchedOnly = yes.length === 1 && no.length === 0 && yes[0] === br;
    if (!matchedOnly) {
      for (const n of no) {
        if (ctx.verbose) n.br.steps.push({ ...step(hook, table, chain.name, cr, "NO MATCH"), matched: false, failed: n.failed });
        n.br.notes = n.br.notes.filter((x) => !x.startsWith("statistic"));
        for (const r of walk(n.br, chain, cr.index + 1, depth, hook, ctx)) out.push(r);
      }
      for (const y of yes) for (const r of applyRule(y, chain, cr, depth, hook, ctx)) out.push(r);
      return out;
    }
    // Matched without forking: common case, stays in this loop when a jump simply returns.
    const res = applyRule(br, chain, cr, depth, hook, ctx, true);
    if (res.length === 1 && res[0]!.verdict === ("CONTINUE" as ChainVerdict)) {
      br = res[0]!.br;
      cand = candidates(chain, br, cr.index + 1, ctx);
      ci = 0;
      i = cr.index + 1;
      continue;
    }
    for (const r of res) out.push(r);
    return out;
  }
  out.push({ br, verdict: "RETURN" });
  void tableChains;
  return out;
}

/**
 * Applies a matched rule's target. With `inline`, a plain continuation is handed back as a
 * "CONTINUE" result so the caller's loop goes on without recursion.
 */
function applyRule(
  br: Branch, chain: CompiledChain, cr: CompiledRule, depth: number, hook: Hook, ctx: TraverseContext, inline = false,
): ChainResult[] {
  const table = chain.table;
  const t = cr.target;
  const prior = before(br.pkt);
  const cont = (b: Branch): ChainResult[] =>
    inline ? [{ br: b, verdict: "CONTINUE" as ChainVerdict }] : walk(b, chain, cr.index + 1, depth, hook, ctx);
  switch (t.kind) {
    case "none": {
      const s = step(hook, table, chain.name, cr, "CONTINUE");
      finishStep(s, br, prior);
      br.steps.push(s);
      return cont(br);
    }
    case "standard": {
      const s = step(hook, table, chain.name, cr, t.verdict);
      finishStep(s, br, prior);
      br.steps.push(s);
      if (t.verdict === "RETURN") return [{ br, verdict: "RETURN" }];
      return [{ br, verdict: t.verdict, chain: chain.name, rule: cr.index + 1 }];
    }
    case "chain": {
      const s = step(hook, table, chain.name, cr, `${t.goto ? "GOTO" : "JUMP"} ${t.chain}`);
      finishStep(s, br, prior);
      br.steps.push(s);
      const target = ctx.rules.tables.get(table)!.chains.get(t.chain);
      if (!target) {
        return [{ br, verdict: "ERROR", chain: chain.name, rule: cr.index + 1, detail: `jump to chain ${t.chain}, which does not exist in table ${table}` }];
      }
      if (depth >= MAX_DEPTH || ctx.rules.loops.has(`${table}/${t.chain}`)) {
        return [{ br, verdict: "ERROR", chain: chain.name, rule: cr.index + 1, detail: `jump loop through chain ${t.chain}` }];
      }
      const results = walk(br, target, 0, depth + 1, hook, ctx);
      // A goto'ed chain that returns, returns to our caller: its RETURN is ours.
      if (t.goto) return results;
      if (results.length === 1 && results[0]!.verdict === "RETURN") return cont(results[0]!.br);
      const out: ChainResult[] = [];
      for (const r of results) {
        if (r.verdict === "RETURN") for (const x of walk(r.br, chain, cr.index + 1, depth, hook, ctx)) out.push(x);
        else out.push(r);
      }
      return out;
    }
    case "unknown": {
      // Both possibilities: the target lets the packet go on, or it decided its fate.
      const goOn = fork(br, 1, `-j ${t.name}: assumed to let the packet continue (netfate does not know this target)`);
      const s1 = step(hook, table, chain.name, cr, "CONTINUE");
      goOn.steps.push(s1);
      const stop = fork(br, 1, `-j ${t.name}: assumed to decide the packet's fate (netfate does not know this target)`);
      stop.steps.push(step(hook, table, chain.name, cr, t.name));
      return [
        ...cont(goOn).flatMap((r) => (inline && r.verdict === ("CONTINUE" as ChainVerdict) ? walk(r.br, chain, cr.index + 1, depth, hook, ctx) : [r])),
        { br: stop, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: `-j ${t.name} is not known to netfate` },
      ];
    }
    case "extension": {
      const env: EvalEnv = { packet: br.pkt, hook, table, node: ctx.node, ipsets: ctx.ipsets };
      if (!t.ext.apply) {
        const b = fork(br, 1);
        b.steps.push(step(hook, table, chain.name, cr, t.name));
        return [{ br: b, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: `netfate cannot apply -j ${t.name} yet` }];
      }
      const res = t.ext.apply(t.data, env, effects(br, ctx, cr));
      if ("indeterminate" in res) {
        const s = step(hook, table, chain.name, cr, t.name);
        finishStep(s, br, prior);
        br.steps.push(s);
        return [{ br, verdict: "INDETERMINATE", chain: chain.name, rule: cr.index + 1, detail: res.indeterminate }];
      }
      const verdictText = res.verdict === "CONTINUE" ? "CONTINUE" : br.pendingNat ? t.name : res.verdict;
      const s = step(hook, table, chain.name, cr, verdictText);
      finishStep(s, br, prior);
      br.steps.push(s);
      switch (res.verdict) {
        case "CONTINUE":
          return cont(br);
        case "RETURN":
          return [{ br, verdict: "RETURN" }];
        default: {
          const r: ChainResult = { br, verdict: res.verdict, chain: chain.name, rule: cr.index + 1 };
          if (res.detail !== undefined) r.detail = res.detail;
          return [r];
        }
      }
    }
  }
}

/** Runs the built-in chain `hook` of `table`; a table or chain absent from the dump accepts silently. */
export function runTable(br: Branch, table: TableName, hook: Hook, ctx: TraverseContext): TableResult[] {
  const t = ctx.rules.tables.get(table);
  const chain = t?.chains.get(hook);
  if (!chain) return [{ br, verdict: "ACCEPT" }];
  const out: TableResult[] = [];
  for (const r of walk(br, chain, 0, 0, hook, ctx)) {
    if (r.verdict === "RETURN") {
      // Falling off (or RETURN from) a built-in chain applies its policy.
      const policy = chain.policy ?? "ACCEPT";
      if (chain.declared || ctx.rules.tables.get(table)) r.br.steps.push(step(hook, table, hook, undefined, policy));
      out.push({ br: r.br, verdict: policy, chain: hook, rule: "policy" });
    } else {
      const tr: TableResult = { br: r.br, verdict: r.verdict as TableVerdict };
      if (r.chain !== undefined) tr.chain = r.chain;
      if (r.rule !== undefined) tr.rule = r.rule;
      if (r.detail !== undefined) tr.detail = r.detail;
      out.push(tr);
    }
  }
  return out;
}

export { ruleSpecText };
