/**
 * Where a worker thread's entry module is. tsc's output keeps each module where its source is,
 * so a worker entry sits beside the command that starts it as `<name>.js`. The shipped bundle
 * (build-cli.mjs) writes every worker entry into dist/chunks/ as `<name>.mjs`, beside the chunk
 * holding the command that starts it (commands are imported on demand, so their code is always
 * in a chunk, never in the bin file). `here` is the caller's `import.meta.url`.
 */
declare const NETFATE_BUNDLED: boolean | undefined;

export function workerFile(name: string, here: string): URL {
  const bundled = typeof NETFATE_BUNDLED === "boolean" && NETFATE_BUNDLED;
  return new URL(`./${name}${bundled ? ".mjs" : ".js"}`, here);
}
