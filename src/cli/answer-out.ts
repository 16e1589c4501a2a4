/**
 * Where a command's answer goes: stdout, or the --output file; and how its text is drawn for
 * the terminal (colours only on a terminal that is the answer's destination, its width).
 */
import { writeFileSync } from "node:fs";
import { paletteFor } from "../explain/colour.js";
import type { TextOptions, Verdict } from "../explain/text.js";
import type { Diagnostic } from "../model/diagnostics.js";
import { flagSet, flagValue, UsageError, type ParsedArgs } from "./args.js";
import type { CommandIO } from "./io.js";

/** The palette and width for text written where --output says (or to the terminal). */
export function textOptions(args: ParsedArgs, io: CommandIO): Pick<TextOptions, "palette" | "width"> {
  return { palette: paletteFor(io.isTTY && !flagValue(args, "output")), width: io.isTTY && io.columns ? io.columns : 80 };
}

/** Writes the answer to --output, or to stdout. */
export function writeAnswer(args: ParsedArgs, io: CommandIO, text: string): void {
  const outFile = flagValue(args, "output");
  if (!outFile) {
    io.out(text);
    return;
  }
  try {
    writeFileSync(outFile, text);
  } catch (err) {
    throw new UsageError(`cannot write ${outFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * With errors in the inputs there is no answer unless --keep-going (one without the refused
 * lines could be confidently wrong): the exit code 2 then, else undefined and a line saying the
 * answer leaves those lines out.
 */
export function refusedForErrors(args: ParsedArgs, io: CommandIO, errors: number): number | undefined {
  if (errors === 0) return undefined;
  if (!flagSet(args, "keep-going")) {
    io.err(`netfate: the inputs have ${errors} error${errors > 1 ? "s" : ""} (above); fix them, or pass --keep-going to evaluate without the lines they are on\n`);
    return 2;
  }
  io.err("netfate: the inputs have errors (above); the answer below leaves those lines out (--keep-going)\n");
  return undefined;
}

/** The assumption every outcome carries when erroneous lines were left out (--keep-going). */
export function leftOut(errors: readonly Diagnostic[]): string {
  const at = errors.slice(0, 8).map((d) => `${d.file}:${d.line}`);
  const more = errors.length > at.length ? ` and ${errors.length - at.length} more` : "";
  return `the lines with errors were left out (--keep-going): ${at.join(", ")}${more}; what they say is not known`;
}

/**
 * why-dropped's exit code follows what the kernel does: 1 when the answer loses the packet
 * (dropped, rejected, unroutable, a lost reply), else 3 when it cannot be told (indeterminate,
 * an error in the rules, queued to a program), else 0.
 */
export function verdictExit(v: Verdict): number {
  return v === "lost" ? 1 : v === "unknown" ? 3 : 0;
}
