/**
 * grammar/chevrotain.ts for the browser bundle (src/explore/build-browser.mjs puts this file in its
 * place): the same exports, with chevrotain imported statically, since the page has no
 * node:fs to find the single-file build with, nor a synchronous `require`. The build resolves
 * "chevrotain" to that single-file build, as grammar/chevrotain.ts does in Node.
 */
import * as chevrotainModule from "chevrotain";

export type Chevrotain = typeof import("chevrotain");

/** No file system in the page: the bundle is whatever the build put in. */
export function chevrotainBundlePath(): string | undefined {
  return undefined;
}

export async function loadChevrotain(): Promise<Chevrotain> {
  return chevrotainModule;
}

export function chevrotain(): Chevrotain {
  return chevrotainModule;
}
