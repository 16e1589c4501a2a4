/**
 * The helper thread of `netfate diff` (see diff-sides.ts): loads both sides from the texts it
 * was started with, then answers one list of packets with their looks.
 */
import { parentPort, workerData } from "node:worker_threads";
import { DiffSides, type OldLook } from "../../diff/compare.js";
import { loadSides, lookAtChunks, plainLook, type HelperData, type HelperReply, type HelperTask } from "./diff-sides.js";

const port = parentPort!;
let sides: DiffSides | undefined;
let failed: string | undefined;
try {
  const [a, b] = loadSides((workerData as HelperData).texts);
  sides = new DiffSides(a, b);
  // Before the packets come (the other thread is still choosing them).
  sides.prepare();
} catch (e) {
  failed = (e as Error).message;
}

port.once("message", ({ packets, claimed }: HelperTask) => {
  let reply: HelperReply;
  try {
    reply = sides ? { chunks: [...lookAtChunks(packets, claimed, (p) => plainLook(sides!, p))] as Array<[number, OldLook[]]> } : { failed: failed ?? "not loaded" };
  } catch (e) {
    reply = { failed: (e as Error).message };
  }
  port.postMessage(reply);
});
