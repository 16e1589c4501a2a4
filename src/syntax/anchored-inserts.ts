/**
 * iptables-nft-restore's positioned inserts. `-I CHAIN N` with N > 1 puts its rules before the
 * rule at N, and the nft backend (1.8.9, asked in a netns) sends that rule along as the place
 * to insert at. When the same script deletes that rule later, the kernel refuses the insert
 * ("RULE_INSERT failed (No such file or directory)") and with it the whole script; the failure
 * spreads to inserts placed before the failed insert's rules and to `-D` of those rules. A
 * later `-F CHAIN` takes them all back out of the batch, and the script is accepted. (The
 * legacy backend edits a copy of the table and minds none of it.)
 */
import type { Rule } from "../model/ast.js";
import type { Span } from "../model/span.js";

interface Insert {
  chain: string;
  span: Span;
  rules: readonly Rule[];
}

interface Refusal {
  chain: string;
  span: Span;
  what: string;
}

export class AnchoredInserts {
  /** The inserts placed before each rule. */
  private readonly before = new Map<Rule, Insert[]>();
  /** Rules whose insert the kernel will refuse. */
  private readonly failed = new Set<Rule>();
  /** What the kernel will refuse, by chain, until a `-F CHAIN` takes it back. */
  private readonly refused = new Map<string, Refusal[]>();

  /** `-I CHAIN N` put `rules` before `anchor`. */
  inserted(chain: string, span: Span, rules: readonly Rule[], anchor: Rule): void {
    const ins: Insert = { chain, span, rules };
    if (this.failed.has(anchor)) return this.fail(ins);
    let list = this.before.get(anchor);
    if (!list) this.before.set(anchor, (list = []));
    list.push(ins);
  }

  /** `-D` took `rule` out (at `span`). */
  deleted(chain: string, span: Span, rule: Rule): void {
    if (this.failed.has(rule)) this.refuse({ chain, span, what: "-D deletes a rule whose -I the kernel refuses" });
    const inserts = this.before.get(rule);
    this.before.delete(rule);
    for (const ins of inserts ?? []) this.fail(ins);
  }

  /** `-F CHAIN`: what was refused there is out of the batch. */
  flushed(chain: string): void {
    this.refused.delete(chain);
  }

  /** Every refusal still standing when the table is committed. */
  *refusals(): Iterable<Refusal> {
    for (const list of this.refused.values()) yield* list;
  }

  private fail(first: Insert): void {
    // Iterative: a chain of inserts each placed before the last one's rules spreads far.
    const work = [first];
    for (let ins = work.pop(); ins; ins = work.pop()) {
      this.refuse({ chain: ins.chain, span: ins.span, what: "-I puts rules before one this script deletes later" });
      for (const r of ins.rules) {
        this.failed.add(r);
        for (const next of this.before.get(r) ?? []) work.push(next);
        this.before.delete(r);
      }
    }
  }

  private refuse(r: Refusal): void {
    let list = this.refused.get(r.chain);
    if (!list) this.refused.set(r.chain, (list = []));
    list.push(r);
  }
}
