/**
 * `log prefix "x" level info`, `log group 2` (nflog). nft lists `level warn`, the default,
 * as nothing.
 *
 * Evaluated: the kernel's log line is the one iptables' LOG writes (nf_log_syslog for both);
 * a group sends the packet to nflog, which netfate lists on the step.
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftLog } from "../../../model/nft.js";
import type { TargetEffects } from "../../../model/evaluation.js";
import { NEXT, type NftStmtEnv, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import { LOG } from "../../targets/LOG.js";
import { iptablesEnv } from "./like-iptables.js";
import type { StmtJsonReader, StmtKind, StmtWordReader } from "./types.js";

export const log: StmtKind<NftLog> = {
  kind: "log",
  words: ["log"],
  read,
  jsonKeys: ["log"],
  readJson,
  print,
  evaluate,
};

function read(r: StmtWordReader): NftLog | undefined {
  r.take();
  const st: NftLog = { kind: "log" };
  for (;;) {
    if (r.accept("prefix")) {
      const p = r.string('a prefix string ("...")');
      if (p === undefined) return undefined;
      st.prefix = p;
    } else if (r.accept("level")) {
      const l = r.string("a log level (emerg, alert, crit, err, warn, notice, info, debug, audit)");
      if (l === undefined) return undefined;
      st.level = l;
    } else if (r.is("group") || r.is("snaplen") || r.is("queue-threshold")) {
      const k = r.take();
      const n = r.uint(`a number after ${k}`);
      if (n === undefined) return undefined;
      if (k === "group") st.group = n;
      else if (k === "snaplen") st.snaplen = n;
      else st.queueThreshold = n;
    } else if (r.accept("flags")) {
      st.flags ??= [];
      // `flags tcp sequence,options`, `flags ip options`, `flags skuid`, `flags ether`, `flags all`.
      const words: string[] = [];
      if (r.is("tcp") || r.is("ip")) words.push(r.take());
      const parts: string[] = [];
      do {
        if (!r.isWord()) return r.fail("a log flag (tcp sequence,options, ip options, skuid, ether, all)");
        parts.push(r.take());
      } while (r.accept(","));
      words.push(parts.join(","));
      st.flags.push(words.join(" "));
    } else break;
  }
  return st;
}

/** `{"log": null}` or `{"log": {"prefix", "level", "group", "snaplen", "queue-threshold", "flags"}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: StmtJsonReader): NftLog | undefined {
  if (v.kind === "null") return { kind: "log" };
  const o = r.fields(v, "log statement");
  if (!o) return undefined;
  const l: NftLog = { kind: "log" };
  const prefix = r.str(o, "prefix", "log statement");
  if (prefix !== undefined) l.prefix = prefix;
  const level = r.str(o, "level", "log statement");
  if (level !== undefined) l.level = level;
  const group = r.int(o, "group", "log statement", 0, 0xffff);
  if (group !== undefined) l.group = group;
  const snaplen = r.int(o, "snaplen", "log statement", 0, 0xffffffff);
  if (snaplen !== undefined) l.snaplen = snaplen;
  const qt = r.int(o, "queue-threshold", "log statement", 0, 0xffff);
  if (qt !== undefined) l.queueThreshold = qt;
  const flags = r.strings(o, "flags", "log statement");
  if (flags !== undefined) l.flags = flags;
  return l;
}

function print(s: NftLog): string {
  let out = "log";
  if (s.prefix !== undefined) out += ` prefix "${s.prefix}"`;
  if (s.level !== undefined && s.level !== "warn") out += ` level ${s.level}`;
  if (s.group !== undefined) out += ` group ${s.group}`;
  if (s.snaplen !== undefined) out += ` snaplen ${s.snaplen}`;
  if (s.queueThreshold !== undefined) out += ` queue-threshold ${s.queueThreshold}`;
  // Each group of flags has its own word: `flags ip options flags ether`.
  for (const f of s.flags ?? []) out += ` flags ${f}`;
  return out;
}

const LEVELS: Readonly<Record<string, number>> = { emerg: 0, alert: 1, crit: 2, err: 3, warn: 4, notice: 5, info: 6, debug: 7, audit: 4 };

function evaluate(s: NftLog, env: NftStmtEnv): StmtResult {
  if (s.group !== undefined) {
    env.br.notes.push({ kind: "rewrite", field: "nflog", value: `group ${s.group}` });
    return NEXT;
  }
  const line = kernelLogLine(env, s.prefix, LEVELS[s.level ?? "warn"] ?? 4);
  if (line !== undefined) env.br.logLine = line;
  return NEXT;
}

/** The kernel log line for the packet, with the prefix and level given: LOG's own. */
function kernelLogLine(env: NftStmtEnv, prefix: string | undefined, level: number): string | undefined {
  let line: string | undefined;
  const fx = { log: (l: string) => void (line = l) } as Pick<TargetEffects, "log"> as TargetEffects;
  LOG.apply!({ level, flags: 0, ...(prefix !== undefined ? { prefix } : {}) }, iptablesEnv(env), fx);
  return line;
}
