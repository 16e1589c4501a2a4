/**
 * The library's option objects refuse names they do not know. A misspelt option (`iface` for
 * `ifaces`, `dports` for `dport`) would otherwise be dropped without a word, and a property
 * test written over it would hold vacuously: the packets or the node are not the ones meant.
 */
import { suggest } from "../cli/args.js";

/** Every option name of T, listed once; `satisfies OptionNames<T>` keeps a list and its interface in step. */
export type OptionNames<T> = Record<keyof Required<T>, true>;

/** Throws unless `given` is an object whose every key is in `known`, naming the nearest known one. */
export function checkOptions(where: string, given: unknown, known: Record<string, true>): void {
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new Error(`${where}: expected an object of options, found ${Array.isArray(given) ? "an array" : given === null ? "null" : typeof given}`);
  }
  const names = Object.keys(known);
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(known, key)) continue;
    const near = suggest(key, names);
    throw new Error(`${where}: unknown option ${JSON.stringify(key)}${near ? `; did you mean ${JSON.stringify(near)}?` : ""} (options: ${names.join(", ")})`);
  }
}
