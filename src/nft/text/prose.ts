/**
 * nft text pasted into prose: an issue comment with a shell prompt (`# nft list ruleset`,
 * `$ sudo nft -a list table inet filter`), a markdown fence around the output, sentences before
 * and after. Like src/syntax/extract.ts does for iptables dumps, lines outside the nft text
 * are set aside and reported, never parsed; the nft lines keep their line and column so what
 * the reader reports points into the original text.
 *
 * A line at the top level (outside every brace block) is nft text when it starts a table, a
 * command, a define or an include, closes a block, or is a `#` comment that is not a prompt;
 * inside a block every line is nft text, until a fence closes the pasted output.
 */
import { isFence, promptCommand } from "../../detect.js";
import type { Diagnostic } from "../../model/diagnostics.js";

const TOP_LEVEL = /^\s*(?:table|add|create|insert|replace|delete|destroy|flush|define|redefine|undefine|include|list|reset|rename|chain|set|map)\b|^\s*[}]/;

export interface ProseResult {
  /** The text with non-nft lines blanked (same number of lines). */
  text: string;
  diagnostics: Diagnostic[];
  /** Lines that were nft text. */
  nftLines: number;
}

/** Brace depth change of a line, ignoring braces in strings and comments. */
function braceDelta(line: string): number {
  if (line.indexOf("{") < 0 && line.indexOf("}") < 0) return 0;
  let d = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "#") break;
    else if (ch === "{") d++;
    else if (ch === "}") d--;
  }
  return d;
}

export function setAsideProse(text: string, file: string): ProseResult {
  const lines = text.split("\n");
  const skipped: number[] = [];
  let depth = 0;
  let nftLines = 0;
  let quotedAny = false;
  for (let i = 0; i < lines.length; i++) {
    // A markdown quote (`> table ip t {`): the markers become spaces, so columns stay.
    const quoted = /^(?:> ?)+/.exec(lines[i]!);
    if (quoted) {
      lines[i] = " ".repeat(quoted[0].length) + lines[i]!.slice(quoted[0].length);
      quotedAny = true;
    }
    const raw = lines[i]!.replace(/\r$/, "");
    const line = raw.trim();
    let keep: boolean;
    if (isFence(raw)) {
      keep = false;
      depth = 0;
    } else if (depth > 0) keep = true;
    else if (line === "") keep = true;
    else if (line.startsWith("#")) keep = promptCommand(raw) === undefined;
    else keep = TOP_LEVEL.test(raw) && promptCommand(raw) === undefined;
    if (keep) {
      if (line !== "" && !line.startsWith("#")) nftLines++;
      depth = Math.max(0, depth + braceDelta(raw));
    } else {
      skipped.push(i + 1);
      lines[i] = "";
    }
  }
  const diagnostics: Diagnostic[] = [];
  if (skipped.length > 0) {
    const ranges: string[] = [];
    for (let k = 0; k < skipped.length; ) {
      let e = k;
      while (e + 1 < skipped.length && skipped[e + 1] === skipped[e]! + 1) e++;
      ranges.push(k === e ? `${skipped[k]}` : `${skipped[k]}-${skipped[e]}`);
      k = e + 1;
    }
    const shown = ranges.length > 8 ? `${ranges.slice(0, 8).join(", ")}, ...` : ranges.join(", ");
    diagnostics.push({
      severity: "info",
      file,
      line: skipped[0]!,
      col: 1,
      message: `${skipped.length} line(s) around the nft text were set aside as not nft (prose, prompts, fences): lines ${shown}`,
    });
  }
  return { text: skipped.length > 0 || quotedAny ? lines.join("\n") : text, diagnostics, nftLines };
}
