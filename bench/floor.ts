/**
 * `node dist/bench/floor.js FILE`: the least a Node process can do with a dump — read it, and
 * cut every line into words — with no parsing, checking or AST. The bench prints its time
 * next to `netfate parse` so that a reader sees how much of the parse is the machine's
 * (process start, reading, first-touched memory) and how much is netfate's.
 */
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2]!).toString("utf8");
let lines = 0;
let words = 0;
let chars = 0;
for (let start = 0; start < text.length; lines++) {
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  for (let i = start; i < end; ) {
    while (i < end && text.charCodeAt(i) === 32) i++;
    const w = i;
    while (i < end && text.charCodeAt(i) !== 32) i++;
    if (i > w) {
      // Each word as its own string, as any parser must make of names and values.
      chars += text.slice(w, i).length;
      words++;
    }
  }
  start = end + 1;
}
process.stdout.write(`${lines} lines, ${words} words, ${chars} characters\n`);
