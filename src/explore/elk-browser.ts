/**
 * elkjs's in-process bundle, for the page's engine (src/explore/build-browser.mjs puts this file
 * in its place): an ELK that lays out in a Worker of its own, started from ELK's worker script
 * (dist/browser/explore-elk.js) which the page carries as text. That 1.6 MB script is then not
 * part of the engine the page evaluates before the node is loaded; it is evaluated in its own
 * thread, beside the engine's reading of the node.
 *
 * The layout is ELK's same code either way (elk.bundled.js is elk-api.js with this worker script
 * run in-process), so a trace drawn here is the trace `netfate explore` drew in Node
 * (test/browser/explore.test.ts compares the two).
 */
import elkApi from "elkjs/lib/elk-api.js";

// A CommonJS module: its exports are ELK's constructor, which is also its own `default`.
const ElkApi = elkApi.default;

let worker: Worker | undefined;

/**
 * Starts ELK's worker from its script's text. The URL is made here, in the engine's worker: a
 * page opened from a file has an opaque origin, and a blob: URL the page made is not the
 * engine's to start a worker from; one of its own is (and the page's policy allows blob: workers).
 */
export function startElk(script: string): void {
  worker ??= new Worker(URL.createObjectURL(new Blob([script], { type: "text/javascript" })));
}

/** What layout.ts constructs: ELK on the worker startElk started. */
export default class PageElk extends ElkApi {
  constructor() {
    super({
      workerFactory: () => {
        if (!worker) throw new Error("the page did not give the engine ELK's worker script");
        return worker;
      },
    });
  }
}
