/**
 * diff's two sides as the command loads them, and a helper thread that asks the old side about
 * part of the packets. Tracing packets through the old dump is most of a large diff's time and
 * each packet is asked alone, so a second core halves it: the helper loads both sides itself
 * from the same texts (parsing while this thread parses and chooses the packets), works out the
 * looks (compare.ts OldLook) of the packets it is given, and hands them back as plain data.
 * Which thread looked at a packet changes nothing: the comparison still goes through the
 * packets in order, here, and asks again whatever it needs that a look does not carry.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { PacketSpec } from "../../model/packet.js";
import type { DiffSides, OldLook } from "../../diff/compare.js";
import type { TextInput } from "../../assemble.js";
import { assembleTexts, type InputTexts, type LoadedInputs } from "../load.js";
import { workerFile } from "../worker-file.js";

/** Rule texts smaller than this (both sides) are traced on one thread: a helper's start-up would cost more than it saves. */

/**
 * Whether both sides' node facts were read from the same texts (the flags' files, and bundles
 * holding the same ones): the node view is then one for both, which lets diff skip asking the
 * new side about packets whose path met no change (diff/unchanged-path.ts).
 */
function sameNodeTexts(x: InputTexts, y: InputTexts): boolean {
  const same = (a: readonly TextInput[], b: readonly TextInput[]) =>
    a.length === b.length && a.every((t, i) => t.file === b[i]!.file && t.text === b[i]!.text && t.format === b[i]!.format);
  const s = (i: InputTexts) => [i.shortcuts.ifaces, i.shortcuts.localAddrs, i.shortcuts.routes];
  return same(x.node, y.node) && JSON.stringify(s(x)) === JSON.stringify(s(y));
}

/** Both sides from their texts, sharing one node view when their node facts are the same texts. */
export function loadSides(texts: readonly [InputTexts, InputTexts]): [LoadedInputs, LoadedInputs] {
  const sides = texts.map(assembleTexts) as [LoadedInputs, LoadedInputs];
  if (sameNodeTexts(texts[0], texts[1])) sides[1] = { ...sides[1], ...(sides[0].node ? { node: sides[0].node } : {}) };
  return sides;
}

/** What the helper is started with: both sides' texts (without the parse cache, which stays with this thread). */
export interface HelperData {
  texts: [InputTexts, InputTexts];
}

/** What the helper is asked: every packet, and the counter of chunks of them claimed, shared by both threads. */
export interface HelperTask {
  packets: readonly PacketSpec[];
  claimed: Int32Array;
}

/** The helper's answer: the looks of the chunks it claimed, by chunk; or why it has none. */
export type HelperReply = { chunks: Array<[number, OldLook[]]> } | { failed: string };

/** Packets per chunk: small enough that the threads end together, large enough that claiming costs nothing. */
const CHUNK = 256;

/**
 * Works out the looks of chunks of `packets`, claiming them one by one from the counter both
 * threads share: whichever thread is free takes the next, so a thread the machine gives less
 * time to does less. `look` gives undefined for a packet not to be asked.
 */
export function lookAtChunks(packets: readonly PacketSpec[], claimed: Int32Array, look: (p: PacketSpec) => OldLook | undefined): Map<number, Array<OldLook | undefined>> {
  const chunks = Math.ceil(packets.length / CHUNK);
  const out = new Map<number, Array<OldLook | undefined>>();
  for (let k = Atomics.add(claimed, 0, 1); k < chunks; k = Atomics.add(claimed, 0, 1)) {
    out.set(k, packets.slice(k * CHUNK, (k + 1) * CHUNK).map(look));
  }
  return out;
}

/** The look of chunk-claimed packet `i`, if its chunk was looked at (`chunks`: by chunk). */
export function chunkLook(chunks: ReadonlyMap<number, ReadonlyArray<OldLook | undefined>>, i: number): OldLook | undefined {
  return chunks.get(Math.floor(i / CHUNK))?.[i % CHUNK];
}

/** The look of a packet as the helper sends it back: nothing but what OldLook says. */
export function plainLook(sides: DiffSides, p: PacketSpec): OldLook {
  if (!sides.families.has(p.family)) return { same: false };
  const l = sides.look(p);
  return l.unknown ? { unknown: l.unknown, same: false } : { same: l.same };
}

const HELPER = workerFile("diff-helper", import.meta.url);

/** A helper thread, started as soon as the texts are read; undefined when its module is not built. */
export class OldSideHelper {
  private constructor(private readonly worker: Worker) {
    // A helper that has nothing left to do must not keep the process alive.
    worker.unref();
  }

  /**
   * Asked for with --threads 2 only. Measured on the 2-core machine, quiet, 10k-service pair
   * (4 paired runs): 6.9 s with the helper against 5.9 s without, 1.4× the CPU and 1.3× the
   * memory. The helper parses both dumps again, which costs more than the half of the tracing
   * it takes over; it pays only where loading is cheap beside tracing (many random probes).
   */
  static start(texts: readonly [InputTexts, InputTexts]): OldSideHelper | undefined {
    // Run from the built files only (the helper is a file of its own; sources run by a test runner have none).
    if (!existsSync(fileURLToPath(HELPER))) return undefined;
    const plain = (t: InputTexts): InputTexts => {
      const { cache: _, ...rest } = t;
      return rest;
    };
    const workerData: HelperData = { texts: [plain(texts[0]), plain(texts[1])] };
    try {
      return new OldSideHelper(new Worker(HELPER, { workerData }));
    } catch {
      return undefined;
    }
  }

  /**
   * Has the helper claim chunks of `packets` with this thread (see lookAtChunks); resolves to
   * the looks of the chunks it took, by chunk (none when it failed: they are then worked out here).
   */
  looks(packets: readonly PacketSpec[], claimed: Int32Array): Promise<Map<number, OldLook[]>> {
    const w = this.worker;
    return new Promise((resolve) => {
      const done = (r: HelperReply | undefined) => {
        w.removeAllListeners();
        void w.terminate();
        resolve(new Map(r && "chunks" in r ? r.chunks : []));
      };
      w.once("message", (r: HelperReply) => done(r));
      w.once("error", () => done(undefined));
      w.once("exit", () => done(undefined));
      w.ref();
      const task: HelperTask = { packets, claimed };
      w.postMessage(task);
    });
  }

  /** Stops the helper without asking it anything. */
  stop(): void {
    void this.worker.terminate();
  }
}
