/**
 * The page's Worker: the browser entry of netfate's readers and evaluator (bundled to
 * dist/browser/explore-engine.js). It answers the page's messages with ExploreEngine; a load
 * that cannot use the inputs, or a failure of netfate's, is answered too, never left silent.
 */
import { InputError } from "../assemble.js";
import { ExploreEngine, type Reply, type Request } from "./engine.js";
import { startElk } from "./elk-browser.js";

const engine = new ExploreEngine();
const post = (r: Reply) => (globalThis as unknown as { postMessage(m: Reply): void }).postMessage(r);

// One message at a time, in order: a trace's answer never overtakes the load it needs.
let queue: Promise<void> = Promise.resolve();
let waiting = 0;

globalThis.addEventListener("message", (ev: MessageEvent<Request>) => {
  waiting++;
  queue = queue.then(() => answer(ev.data)).finally(() => {
    waiting--;
    warmSoon();
  });
});

/**
 * While no message waits, the rules are printed for the search in slices short enough (30 ms)
 * that a packet typed meanwhile is answered without a noticeable wait.
 */
let warming = false;
function warmSoon(): void {
  if (warming) return;
  warming = true;
  setTimeout(() => {
    warming = false;
    if (waiting > 0) return;
    let done = true;
    try {
      done = engine.warm(30);
    } catch {
      // Whatever failed will fail again, and be said, when a search asks for it.
    }
    if (!done) warmSoon();
  }, 0);
}

async function answer(m: Request): Promise<void> {
  try {
    // ELK's worker evaluates its 1.6 MB in a thread of its own while this one reads the node:
    // ready for the next trace's drawing, and none of it in this worker's own start-up.
    if (m.type === "load" && m.elk) startElk(m.elk);
    post(await engine.handle(m, post));
  } catch (e) {
    if (m.type === "load") post({ type: "load-failed", error: e instanceof InputError ? e.message : `internal error: ${(e as Error).message}` });
    else post({ type: "failed", id: m.id, error: `internal error: ${(e as Error).message}` });
  }
}
