/** The flags of `netfate batch`, and the bounds of its --jobs. */
import type { FlagSpec } from "../args.js";
import { INPUT_FLAGS } from "../load.js";
import { ASSUME_FLAG } from "../assume.js";
import { FIELD_NAMES } from "./batch-fields.js";
import { CLUSTER_FLAGS } from "./cluster-flags.js";

/** A packets file this large (about 20,000 packets) is worth a second load of the inputs (batch-parallel.ts). */
export const AUTO_BYTES = 1 << 20;

/** More workers than this only multiply the loaded inputs in memory. */
export const MAX_JOBS = 16;

export const BATCH_FLAGS: FlagSpec[] = [
  ...INPUT_FLAGS,
  ...CLUSTER_FLAGS,
  { name: "packets", value: true, help: "packets, one per line: JSON objects or the text form (- for stdin); read and answered a line at a time" },
  { name: "fields", value: true, help: `one short line per outcome with these fields instead of the whole trace, e.g. fate,final,rule; of: ${FIELD_NAMES.join(", ")}` },
  { name: "format", short: "f", value: true, help: "with --fields: text (tab-separated, the default) or json (one object per outcome)" },
  { name: "verbose", short: "v", help: "include the rules tried that did not match" },
  {
    name: "no-memo",
    help: "with --fields: no flow memo (by default a packet whose answer can only be an earlier packet's — the same fields but its source and port, meeting every test the earlier evaluation made of them — gets that answer's lines, made once, with its own source, port and line number put in, without being evaluated again; the lines are the same, and kept answers take up to 64 MiB). For comparing, or a batch of packets that never come again",
  },
  { name: "memo", help: "with --fields: the flow memo (the default; accepted for scripts that ask for it)" },
  ASSUME_FLAG,
  {
    name: "jobs", short: "j", value: true,
    help: `answer with N worker threads (1 to ${MAX_JOBS}), each loading the inputs, answers kept in input order; default 2 for a packets file over ${AUTO_BYTES >> 20} MiB with a processor to spare, else 1 (this process)`,
  },
  { name: "quiet", short: "q", help: "no progress, notes or summary on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

