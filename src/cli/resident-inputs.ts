/**
 * What a long-lived process (`netfate serve`, cli/serve/) keeps of its inputs between the
 * commands it runs, so that a further question about the same node neither reads nor parses its
 * dump again: the text of each file by the file's identity, and each text's parsed result.
 *
 * A file's text is used again only while the file has the identity it had when read, and only
 * if that identity was settled then (cli/cache-identity.ts says why an identity stands for a
 * content, and why a file changed less than SETTLED_NS ago is read each time). A result is
 * used again only for the same text read with the same options: what cli/cache.ts keeps on
 * disk, kept here as the objects themselves, so the chains a packet compiled stay compiled.
 *
 * Bounded: at most MAX_TEXTS texts and MAX_TEXT_BYTES of them, and the results of those texts
 * only; the least recently used go first.
 */
import { statSync, type BigIntStats } from "node:fs";
import { resolve } from "node:path";
import { rulesetsOf, type InputCache, type InputResult, type ReadInputOptions } from "../inputs.js";
import { chainIndex, tableFacts } from "../netfilter/compile.js";
import { chainPositions } from "../netfilter/jump-graph.js";
import { knownChainFacts, knownTable, rememberChainFacts, rememberTableFacts } from "../netfilter/compile-facts.js";
import { identityOf, sameIdentity, settled, type FileIdentity } from "./cache-identity.js";
import { LONG_CHAIN } from "./cache-long-chains.js";

export const MAX_TEXTS = 16;
export const MAX_TEXT_BYTES = 512 * 1024 * 1024;

interface KeptText {
  id: FileIdentity;
  text: string;
}

function statOf(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** The options that change a result, as one key (cli/cache.ts entryKey's, without the text). */
function optionsKey(opts: ReadInputOptions): string {
  return JSON.stringify([opts.file, opts.format ?? "auto", opts.family ?? null, opts.table ?? null, opts.deferRules ?? true]);
}

export class ResidentInputs {
  /** By absolute path, least recently used first (a Map keeps insertion order). */
  private readonly texts = new Map<string, KeptText>();
  /** By text, then by options key; only for texts `texts` holds. */
  private readonly results = new Map<string, Map<string, InputResult>>();
  /** How the last texts were had: from memory, or read. */
  readonly counts = { kept: 0, read: 0 };

  /** `now`: the clock that says whether an identity is settled (tests give a later one). */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The text of regular file `path`: the one kept for it while the file keeps the identity it
   * had, else `read()` (which also applies the size limit and says what is wrong), kept when
   * the file's identity was settled and held still while it was read.
   */
  readFile(path: string, limit: number, read: () => string): string {
    const abs = resolve(path);
    const before = statOf(abs);
    const kept = this.texts.get(abs);
    if (kept && before?.isFile() && before.size <= BigInt(limit) && sameIdentity(kept.id, identityOf(before))) {
      this.texts.delete(abs);
      this.texts.set(abs, kept);
      this.counts.kept++;
      return kept.text;
    }
    this.counts.read++;
    const text = read();
    const after = statOf(abs);
    if (before?.isFile() && after && sameIdentity(identityOf(before), identityOf(after)) && settled(identityOf(after), this.now())) this.keep(abs, { id: identityOf(after), text });
    else if (kept) this.forget(abs);
    return text;
  }

  /** A cache of parsed results over `disk` (--cache), holding the results of the texts kept here. */
  over(disk: InputCache | undefined): InputCache {
    return {
      get: (text, opts) => {
        const key = optionsKey(opts);
        const mine = this.results.get(text)?.get(key);
        if (mine) return mine;
        const found = disk?.get(text, opts);
        if (found) this.remember(text, key, found);
        return found;
      },
      put: (text, opts, result) => {
        // The disk cache attaches the same facts when it stores a result (cli/cache-format.ts).
        disk?.put(text, opts, result);
        if (this.isKept(text)) {
          attachCompileFacts(result);
          this.remember(text, optionsKey(opts), result);
        }
      },
    };
  }

  private remember(text: string, key: string, result: InputResult): void {
    if (!this.isKept(text)) return;
    let byKey = this.results.get(text);
    if (!byKey) this.results.set(text, (byKey = new Map()));
    byKey.set(key, result);
  }

  private isKept(text: string): boolean {
    for (const k of this.texts.values()) if (k.text === text) return true;
    return false;
  }

  private keep(abs: string, k: KeptText): void {
    this.forget(abs);
    this.texts.set(abs, k);
    let bytes = 0;
    for (const t of this.texts.values()) bytes += t.text.length;
    for (const [path, t] of this.texts) {
      if (this.texts.size <= MAX_TEXTS && bytes <= MAX_TEXT_BYTES) break;
      if (path === abs) continue;
      bytes -= t.text.length;
      this.forget(path);
    }
  }

  private forget(abs: string): void {
    const k = this.texts.get(abs);
    if (!k) return;
    this.texts.delete(abs);
    // Another path may hold the same text (a link, or a copy read as the same string).
    if (!this.isKept(k.text)) this.results.delete(k.text);
  }
}

/**
 * Attaches to a freshly parsed result what compiling its tables finds (netfilter/compile-facts.ts):
 * each table's jump check, and each long chain's index. A kept result is compiled again by
 * every command that uses it, and without them each would walk 40k chains' jumps and index
 * KUBE-SERVICES' 10k rules again. The objects are not changed after this: commands read them.
 */
export function attachCompileFacts(r: InputResult): void {
  for (const rs of rulesetsOf(r.input)) {
    for (const t of rs.tables) {
      if (!knownTable(t)) rememberTableFacts(t, { facts: tableFacts(t, rs.flavour === "nft"), positions: chainPositions(t.chains) });
      for (const c of t.chains) {
        if (c.rules.count < LONG_CHAIN || knownChainFacts(c.rules)) continue;
        const rules = c.rules.load();
        const index = chainIndex(rules, rs.family);
        if (index) rememberChainFacts(c.rules, { index, rule: (i) => rules[i]! });
      }
    }
  }
}

let resident: ResidentInputs | undefined;

/** Makes every later InputReader (cli/load.ts) of this thread read through `r`. */
export function keepInputsResident(r: ResidentInputs | undefined): void {
  resident = r;
}

export function residentInputs(): ResidentInputs | undefined {
  return resident;
}
