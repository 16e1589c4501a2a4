/**
 * `reject`, `reject with icmp host-unreachable`, `reject with tcp reset`. nft lists a reject of
 * the table's family's default kind (`icmp port-unreachable` in ip, `icmpv6` in ip6, `icmpx`
 * elsewhere) as plain `reject`, and JSON spells it out.
 *
 * Evaluated: the verdict is a rejection (the packet is dropped and answered).
 */
import type { JsonNode } from "../../../model/json.js";
import type { NftFamily, NftReject } from "../../../model/nft.js";
import { verdictResult, type NftStmtEnv, type StmtResult } from "../../../model/nft-statement-evaluation.js";
import type { StmtJsonReader, StmtKind, StmtPrinter, StmtWordReader } from "./types.js";

export const reject: StmtKind<NftReject> = {
  kind: "reject",
  words: ["reject"],
  read,
  jsonKeys: ["reject"],
  readJson,
  print,
  evaluate,
};

/** The datatype of a reject code of each kind. */
const CODE_TYPE = { icmp: "icmp_code", icmpv6: "icmpv6_code", icmpx: "icmpx_code" } as const;

function read(r: StmtWordReader): NftReject | undefined {
  r.take();
  const st: NftReject = { kind: "reject" };
  if (!r.accept("with")) return st;
  if (r.is("tcp") && r.is("reset", 1)) {
    r.take();
    r.take();
    st.type = "tcp reset";
    return st;
  }
  const t = r.peek();
  if (t !== "icmp" && t !== "icmpv6" && t !== "icmpx") return r.fail("icmp, icmpv6, icmpx or tcp reset after with");
  r.take();
  st.type = t;
  r.accept("type");
  const code = r.atom(CODE_TYPE[t]);
  if (code === undefined || code.kind !== "const") return undefined;
  st.code = r.last();
  return st;
}

/** `{"reject": null}` or `{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: StmtJsonReader): NftReject | undefined {
  if (v.kind === "null") return { kind: "reject" };
  const o = r.fields(v, "reject statement");
  if (!o) return undefined;
  const st: NftReject = { kind: "reject" };
  const type = r.oneOf(o, "type", "reject statement", ["icmp", "icmpv6", "icmpx", "tcp reset"] as const);
  if (type === null) return undefined;
  if (type) st.type = type;
  const code = r.str(o, "expr", "reject statement");
  if (code !== undefined) st.code = code;
  return st;
}

function print(s: NftReject, p: StmtPrinter): string {
  if (s.type === undefined || isDefault(s, p)) return "reject";
  if (s.type === "tcp reset") return "reject with tcp reset";
  return `reject with ${s.type}${s.code !== undefined ? ` ${p.constText(CODE_TYPE[s.type], s.code)}` : ""}`;
}

/** The kind of reject a family's plain `reject` is. */
function defaultKind(family: NftFamily): "icmp" | "icmpv6" | "icmpx" {
  return family === "ip" ? "icmp" : family === "ip6" ? "icmpv6" : "icmpx";
}

function isDefault(s: NftReject, p: StmtPrinter): boolean {
  if (p.family === undefined || s.code === undefined) return false;
  const kind = defaultKind(p.family);
  // Named whatever the print options say (`-n` prints codes as numbers).
  return s.type === kind && p.constText(CODE_TYPE[kind], s.code, true) === "port-unreachable";
}

function evaluate(s: NftReject, env: NftStmtEnv): StmtResult {
  const type = s.type ?? defaultKind(env.table.family);
  return verdictResult("reject", undefined, type === "tcp reset" ? "tcp reset" : `${type} ${s.code ?? "port-unreachable"}`);
}
