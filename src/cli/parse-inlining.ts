/**
 * Reading a big dump once, as every CLI run does, is mostly V8 warming up: the first parse of
 * the 10k-service dump costs about twice the CPU of a second one in the same process. Much of
 * that is the optimizing compiler itself, on its own thread but in the process's CPU: the
 * fast path (syntax/fast-append.ts) is one function that inlines a dozen scanners (compiled
 * once since a sample of every kind of line is read first, syntax/warm-up.ts; before, four
 * times over). A smaller budget for inlining (V8's
 * --max-inlined-bytecode-size-cumulative, 920 bytes by default) makes each of those
 * compilations cheaper than the time it saves on the lines that follow. Measured on that
 * dump, whole process, paired against the same build without it (15 and 21 runs): `parse
 * --summary` and the first `why-dropped` about 9% less CPU (median ratio 0.89 to 0.92). A
 * budget of 100 gave the same as 200 (200 is taken, the smaller change); the per-function
 * limit (--max-inlined-bytecode-size), a later or earlier tier-up (--interrupt-budget),
 * Sparkplug for everything and eager feedback vectors gave nothing. With the warm-up, the
 * default budget still cost more: `parse --summary` 1.07× the CPU of 200 (11 paired runs).
 *
 * Only while inputs are read: the budget is put back after, so that a long run's evaluation
 * (batch) is compiled as V8 would. Someone who gives the flag to node keeps their own value.
 * It changes how fast the code runs, never what it does.
 */
import { setFlagsFromString } from "node:v8";

const FLAG = "max-inlined-bytecode-size-cumulative";
/** V8's default in Node 20 (`node --v8-options`): what is put back. */
const V8_DEFAULT = 920;
const WHILE_READING = 200;

/** Whether node was started with its own value of the flag (on its command line or in NODE_OPTIONS). */
export function inliningGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const named = (s: string) => s.replace(/_/g, "-").includes(FLAG);
  return execArgv.some(named) || (nodeOptions !== undefined && named(nodeOptions));
}

let depth = 0;

/** `read()`, with the smaller inlining budget while it runs (nested calls share one). */
export function withReadingInlining<T>(read: () => T): T {
  if (inliningGiven(process.execArgv, process.env.NODE_OPTIONS)) return read();
  if (depth++ === 0) setFlagsFromString(`--${FLAG}=${WHILE_READING}`);
  try {
    return read();
  } finally {
    if (--depth === 0) setFlagsFromString(`--${FLAG}=${V8_DEFAULT}`);
  }
}
