/**
 * Adds every item to the end of `list`. `list.push(...items)` passes each item as an argument
 * and throws past about 100k of them, which a dump of 200k bad lines reaches in diagnostics.
 */
export function appendAll<T>(list: T[], items: Iterable<T>): void {
  for (const x of items) list.push(x);
}
