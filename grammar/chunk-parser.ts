/**
 * Where the chevrotain grammar (save.ts) registers itself. Loading chevrotain and building the
 * grammar costs about 0.03 s at start-up (chevrotain.ts), and the fast scanner (save-fast.ts)
 * decides almost every line on its own, so the CLI loads the grammar only when a line needs
 * it; the library entry points import it up front, so for them nothing changes.
 */
import type { SaveLexError, SaveLine } from "./save.js";

export type ChunkParser = (text: string, firstLine: number) => { lines: SaveLine[]; errors: SaveLexError[] };

let registered: ChunkParser | undefined;

export function registerChunkParser(p: ChunkParser): void {
  registered = p;
}

/** Thrown when a line needs the grammar before it was loaded; the CLI loads it and retries. */
export class GrammarNotLoaded extends Error {
  constructor() {
    super("the iptables-save grammar is not loaded (import grammar/save.js, as netfate's index does)");
  }
}

export function chunkParser(): ChunkParser {
  if (!registered) throw new GrammarNotLoaded();
  return registered;
}
