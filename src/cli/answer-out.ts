/**
 * Where a command's answer goes: stdout, or the --output file; and how its text is drawn for
 * the terminal (colours only on a terminal that is the answer's destination, its width).
 */
import { writeFileSync } from "node:fs";
import { paletteFor } from "../explain/colour.js";
import type { TextOptions } from "../explain/text.js";
import { flagValue, UsageError, type ParsedArgs } from "./args.js";
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
