/**
 * The steady cost of one packet in `batch --fields`: the same packets answered twice in one
 * process by the CLI's own line answerer (the dump loaded once), CPU µs per packet of the
 * second pass, when every chain they reach is compiled.
 *
 *   node dist/bench/walk-steady.js PACKETS COUNT PASSES [batch flags...]
 *
 * PASSES 1 answers them once (and reports nothing); more passes are timed together: bench/walk-alloc.sh runs both and takes
 * what one pass allocates from the difference of their young-generation collections.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

/** Starts the CPU profiler; the returned function stops it and gives the profile. */
async function profiler(): Promise<() => Promise<unknown>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => (await session.post("Profiler.stop")).profile;
}


/** WALK_HEAP=FILE: where the timed passes allocate, garbage included (sampled). */
async function allocations(): Promise<() => Promise<unknown>> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  return async () => (await session.post("HeapProfiler.stopSampling")).profile;
}

const [packets, countText, passes, ...flags] = process.argv.slice(2);
const { parseArgs } = await import("../src/cli/args.js");
const { BATCH_FLAGS } = await import("../src/cli/commands/batch-flags.js");
const { lineAnswerer } = await import("../src/cli/commands/batch-answer.js");
const { InputReader } = await import("../src/cli/load.js");
const count = Number(countText);
const lines = readFileSync(packets!, "utf8").split("\n").filter((l) => l !== "").slice(0, count).map((text, i) => ({ line: i + 1, text }));
const io = { out: () => {}, err: () => {}, readStdin: () => "", isTTY: false };
const args = parseArgs([...flags, "--packets", packets!], BATCH_FLAGS);
const answer = lineAnswerer(args, io, new InputReader(io, args), true);
let chars = 0;
for (const l of lines) chars += answer(l)?.text.length ?? 0;
const more = Number(passes) - 1;
if (more > 0) {
  // WALK_PROFILE=FILE: a CPU profile of the timed passes alone.
  const profile = process.env.WALK_PROFILE ? await profiler() : process.env.WALK_HEAP ? await allocations() : undefined;
  const c0 = process.cpuUsage();
  for (let k = 0; k < more; k++) for (const l of lines) chars += answer(l)?.text.length ?? 0;
  const c = process.cpuUsage(c0);
  if (profile) writeFileSync((process.env.WALK_PROFILE ?? process.env.WALK_HEAP)!, JSON.stringify(await profile()));
  process.stderr.write(`steady: ${lines.length} packets × ${more}, ${((c.user + c.system) / (more * lines.length)).toFixed(2)} cpu µs/packet (${chars} chars)\n`);
}
