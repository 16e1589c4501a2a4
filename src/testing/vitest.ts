/**
 * `import "netfate/testing/vitest"` in a vitest setup file (or at the top of a test) adds
 * netfate's matchers to `expect` and to its types.
 */
import { expect } from "vitest";
import { netfateMatchers, type NetfateMatchers } from "./matchers.js";

expect.extend(netfateMatchers);

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends NetfateMatchers<T> {}
}
