/**
 * Whether `ipset restore` takes a member line: the element for the set's type (element.ts),
 * its options against the set's header, list:set members against the sets created before.
 * An element added twice, which ipset restore also refuses, is not looked for: a set of all
 * keys cost 40% more parse time on an 800k-member set, for an error ipset save never makes.
 * A refused member is a located error and is left out of the set; one
 * the tool takes but netfate cannot read (a host name, a range) is a warning and stays in it,
 * so lookups it could decide are indeterminate. Each refusal is pinned against ipset 7.17 in
 * test/unit/ipset-honesty.test.ts.
 */
import type { DiagnosticSink } from "../model/diagnostics.js";
import type { IpSet, SetEntry } from "./ast.js";
import { parseElement, setHeader, type SetHeader } from "./element.js";

/** Entry options and the header flag (or type) that allows each. */
const ENTRY_OPTION_NEEDS: Record<string, { header?: string; why: string }> = {
  timeout: { header: "timeout", why: "Timeout cannot be used: set was created without timeout support" },
  packets: { header: "counters", why: "Packet/byte counters cannot be used: set was created without counter support" },
  bytes: { header: "counters", why: "Packet/byte counters cannot be used: set was created without counter support" },
  comment: { header: "comment", why: "Comment cannot be used: set was created without comment support" },
  skbmark: { header: "skbinfo", why: "Skbinfo mapping cannot be used: set was created without skbinfo support" },
  skbprio: { header: "skbinfo", why: "Skbinfo mapping cannot be used: set was created without skbinfo support" },
  skbqueue: { header: "skbinfo", why: "Skbinfo mapping cannot be used: set was created without skbinfo support" },
};

export class MemberChecker {
  private readonly header: SetHeader | undefined;

  /**
   * `known(name)`: the type of a set created before this member's line, for list:set
   * members (undefined when there is none, or when the input is a listing, whose list:set
   * may name sets it does not show).
   */
  constructor(
    private readonly set: IpSet,
    private readonly sink: DiagnosticSink,
    private readonly known?: (name: string) => string | undefined,
  ) {
    const h = setHeader(set);
    this.header = "problem" in h ? undefined : h;
  }

  /**
   * Reports what `ipset restore` would say of the entry; false when it refuses it.
   * `optionCols`: the column of each of the entry's options.
   */
  accept(e: SetEntry, optionCols: readonly number[]): boolean {
    if (!this.header) return true;
    const { sink, set } = this;
    for (let i = 0; i < e.options.length; i++) {
      const o = e.options[i]!;
      const need = ENTRY_OPTION_NEEDS[o.key];
      const allowed = need ? need.header === undefined || set.options.some((x) => x.key === need.header) : this.typeOption(o.key);
      if (!allowed) {
        sink.error({ line: e.span.line, col: optionCols[i] ?? e.span.col, len: o.key.length }, need ? need.why : `Unknown argument: \`${o.key}'`, need ? `a set created with ${need.header}` : `an option ${set.type} members take`, o.key);
        return false;
      }
    }
    const r = parseElement(set.type, this.header, e.text);
    if ("problem" in r) {
      const p = r.problem;
      const span = { line: e.span.line, col: e.span.col + p.at, len: p.len };
      if (p.severity === "warning") {
        sink.warning(span, p.message);
        return true;
      }
      sink.error(span, p.message, p.expected, p.found);
      return false;
    }
    if (set.type === "list:set" && this.known && !this.member(e)) return false;
    return true;
  }

  /** Options that depend on the type rather than on a header flag. */
  private typeOption(key: string): boolean {
    if (key === "nomatch") return this.header!.info.nomatch;
    if (key === "wildcard") return this.set.type === "hash:net,iface";
    if (key === "before" || key === "after") return this.set.type === "list:set";
    // A global option between the words of a line: ipset takes it anywhere.
    return key === "-exist" || key === "-!";
  }

  private member(e: SetEntry): boolean {
    const type = this.known!(e.text);
    if (type === undefined) {
      this.sink.error(e.span, "Set to be added/deleted/tested as element does not exist.", "a set created before this line", e.text);
      return false;
    }
    // The kernel's loop detection: no list:set inside a list:set, itself included.
    if (type === "list:set") {
      this.sink.error(e.span, "Sets with list:set type cannot be added to the set.", "a set of another type", e.text);
      return false;
    }
    return true;
  }
}
