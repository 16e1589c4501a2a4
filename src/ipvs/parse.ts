/**
 * Reads what ipvsadm prints about the virtual server table:
 *
 * - `ipvsadm -Ln` (and its `--stats`, `--rate`, `--thresholds`, `--persistent-conn` column
 *   variants): a header, then each service line (`TCP  10.96.0.10:53 rr persistent 10800`)
 *   followed by its real server lines (`  -> 10.244.1.5:53   Masq  1  0  0`). The columns are
 *   named by the header lines and read by those names, so a statistics column is never taken
 *   for a weight; what a variant does not print (`--stats` has no scheduler, method or weight)
 *   stays absent.
 * - `ipvsadm-save -n` (what `ipvsadm-restore` reads): `-A -t VIP:PORT -s rr [-p 300 [-M
 *   MASK]]` and `-a -t VIP:PORT -r RIP:PORT -m|-g|-i -w W`, long option names too.
 *
 * Both may be in one text (lines are told apart by their shape). Every problem is located.
 */
import type { Family } from "../model/ast.js";
import { addressFamily, canonicalAddress } from "../model/address.js";
import { DiagnosticSink, type Diagnostic } from "../model/diagnostics.js";
import type { IpvsForward, IpvsProtocol, IpvsRealServer, IpvsService, IpvsServiceKey, IpvsTable } from "../model/ipvs.js";
import { ipvsServiceName } from "../model/ipvs.js";
import { isFence, promptCommand } from "../detect.js";
import type { Span } from "../model/span.js";

interface Word {
  text: string;
  col: number;
}

function words(line: string): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], col: m.index + 1 });
  return out;
}

const span = (line: number, w: Word | undefined, lineText: string): Span =>
  w ? { line, col: w.col, len: w.text.length } : { line, col: lineText.length + 1, len: 0 };

/** The scheduler flags ipvsadm names (ipvsadm.c parse_sched_flags / print_sched_flags). */
const SCHED_FLAGS = new Set(["sh-fallback", "sh-port", "mh-fallback", "mh-port", "flag-1", "flag-2", "flag-3"]);

/** ipvsadm reads weights as 0..65535 (ipvsadm.c: string_to_number(optarg, 0, 65535)). */
const MAX_WEIGHT = 65535;
/** ipvsadm's longest persistence timeout (MAX_TIMEOUT, 31 days). */
const MAX_TIMEOUT = 86400 * 31;

/** `ADDR:PORT` or `[ADDR6]:PORT` (a port may be absent in save form: `-r 10.0.0.1`). */
export function parseEndpoint(text: string, portOptional: boolean): { address: string; family: Family; port?: number } | string {
  let addr: string;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return "an IPv6 address in brackets ([fd00::1]:80)";
    addr = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return "`:PORT` after the bracketed address";
    port = rest === "" ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") !== colon) return "an IPv6 address in brackets ([fd00::1]:80)";
    addr = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const family = addressFamily(addr);
  if (!family) return "an IPv4 address or a bracketed IPv6 address (ipvsadm prints host names unless given -n)";
  if (port === undefined) {
    if (!portOptional) return "ADDRESS:PORT";
    return { address: canonicalAddress(addr, family), family };
  }
  const p = wholeNumber(port, 65535);
  if (p === undefined) return "a port 0-65535 after the colon (ipvsadm prints service names unless given -n)";
  return { address: canonicalAddress(addr, family), family, port: p };
}

function wholeNumber(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** The columns a listing prints after the address: by name, as the header lines say them. */
type Column = string;
const PLAIN_SERVICE_COLUMNS: Column[] = ["Scheduler", "Flags"];
const PLAIN_SERVER_COLUMNS: Column[] = ["Forward", "Weight", "ActiveConn", "InActConn"];
/** Counter columns (`--stats`, `--rate`): numbers, maybe with ipvsadm's K/M/G suffix; kept out of the model. */
const COUNTER_COLUMNS = new Set(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]);
const SERVER_COLUMNS = new Set(["Forward", "Weight", "ActiveConn", "InActConn", "Uthreshold", "Lthreshold", "PersistConn", ...COUNTER_COLUMNS]);

interface ListingState {
  serviceColumns: Column[];
  serverColumns: Column[];
}

class Reader {
  readonly services: IpvsService[] = [];
  kernelOrder = false;
  private readonly byName = new Map<string, IpvsService>();
  private current: IpvsService | undefined;
  private readonly listing: ListingState = { serviceColumns: PLAIN_SERVICE_COLUMNS, serverColumns: PLAIN_SERVER_COLUMNS };
  /** Each listing header starts a section: `ipvsadm -Ln` and `ipvsadm -Ln --stats` pasted together list each service once per section. */
  private section = 0;
  private readonly sectionOf = new Map<IpvsService, number>();
  /** The service a later section's line is merged into (what one listing shows fills what another leaves out). */
  private merging: IpvsService | undefined;

  constructor(private readonly sink: DiagnosticSink) {}

  line(text: string, n: number): void {
    const ws = words(text);
    if (ws.length === 0) return;
    // A shell prompt (`$ ipvsadm -Ln --nosort`), a comment or a code fence around the output.
    const command = promptCommand(text);
    if (command !== undefined || ws[0]!.text.startsWith("#") || isFence(text)) {
      // `ipvsadm -S -n --nosort`: the servers below are in the kernel's order (ipvsadm.c sorts unless FMT_NOSORT).
      if (/\bipvsadm\b.*\s--nosort\b/.test(command ?? text)) this.kernelOrder = true;
      return;
    }
    const first = ws[0]!.text;
    if (first === "IP" && /^IP Virtual Server version /.test(text.trim())) return;
    if (first === "Prot") return this.serviceHeader(ws, n, text);
    if (first === "->" && ws[1]?.text === "RemoteAddress:Port") return this.serverHeader(ws, n, text);
    if (first === "->") return this.listedServer(ws, n, text);
    if (/^(?:TCP|UDP|SCTP|FWM)$/.test(first)) return this.listedService(ws, n, text);
    if (first.startsWith("-")) return this.saveLine(ws, n, text);
    this.sink.error(span(n, ws[0], text), "not a line of ipvsadm -Ln or ipvsadm-save -n output", "a service line (TCP/UDP/SCTP/FWM), a `->` real server line, or -A/-a", first);
  }

  // ---------- ipvsadm -Ln ----------

  private serviceHeader(ws: Word[], n: number, text: string): void {
    this.section++;
    if (ws[1]?.text !== "LocalAddress:Port") {
      this.sink.error(span(n, ws[1], text), "unexpected listing header", "Prot LocalAddress:Port ...", ws[1]?.text);
      return;
    }
    const cols = ws.slice(2).map((w) => w.text);
    for (const [k, c] of cols.entries()) {
      if (c !== "Scheduler" && c !== "Flags" && !COUNTER_COLUMNS.has(c)) {
        this.sink.error(span(n, ws[2 + k], text), `unknown column ${c} in the service header`, "Scheduler Flags, or the --stats / --rate columns", c);
        return;
      }
    }
    this.listing.serviceColumns = cols;
  }

  private serverHeader(ws: Word[], n: number, text: string): void {
    const cols = ws.slice(2).map((w) => w.text);
    for (const [k, c] of cols.entries()) {
      if (!SERVER_COLUMNS.has(c)) {
        this.sink.error(span(n, ws[2 + k], text), `unknown column ${c} in the real server header`, "Forward Weight ActiveConn InActConn, or another ipvsadm -L column", c);
        return;
      }
    }
    // --stats and --rate print no columns here: the real server lines carry the service header's counters.
    this.listing.serverColumns = cols.length ? cols : this.listing.serviceColumns[0] === "Scheduler" ? PLAIN_SERVER_COLUMNS : this.listing.serviceColumns;
  }

  private listedService(ws: Word[], n: number, text: string): void {
    this.current = undefined;
    const prot = ws[0]!.text;
    let at = 1;
    let key: IpvsServiceKey;
    let family: Family;
    if (prot === "FWM") {
      const mark = ws[1] ? fwmark(ws[1].text) : undefined;
      if (mark === undefined) {
        this.sink.error(span(n, ws[1], text), "a firewall-mark service needs its mark", "a mark 1-4294967295 (decimal or 0x hex)", ws[1]?.text);
        return;
      }
      key = { kind: "fwmark", mark };
      at = 2;
      // ipvsadm prints `IPv6` after the mark of an IPv6 firewall-mark service.
      if (ws[2]?.text === "IPv6") {
        family = "ipv6";
        at = 3;
      } else family = "ipv4";
    } else {
      const e = ws[1] ? parseEndpoint(ws[1].text, false) : "ADDRESS:PORT";
      if (typeof e === "string") {
        this.sink.error(span(n, ws[1], text), "the service address is not readable", e, ws[1]?.text);
        return;
      }
      key = { kind: "address", protocol: prot.toLowerCase() as IpvsProtocol, address: e.address, port: e.port! };
      family = e.family;
      at = 2;
    }
    const svc: IpvsService = { key, family, onePacket: false, schedulerFlags: [], servers: [], span: { line: n, col: ws[0]!.col, len: text.trimEnd().length - ws[0]!.col + 1 } };
    const rest = ws.slice(at);
    if (this.listing.serviceColumns[0] === "Scheduler") {
      if (!this.readPlainServiceColumns(svc, rest, n, text)) return;
    } else if (!this.counters(this.listing.serviceColumns, rest, n, text)) return;
    const name = ipvsServiceName(svc);
    const before = this.byName.get(name);
    if (before && this.sectionOf.has(before) && this.sectionOf.get(before) !== this.section) {
      mergeService(before, svc);
      this.merging = before;
      this.current = svc;
      return;
    }
    this.merging = undefined;
    this.add(svc, n, ws[0]!, text);
    if (this.current === svc) this.sectionOf.set(svc, this.section);
  }

  /** `rr persistent 10800 mask 255.255.255.0 pe sip ops sh-fallback,sh-port` (ipvsadm.c print_service_entry). */
  private readPlainServiceColumns(svc: IpvsService, rest: Word[], n: number, text: string): boolean {
    const sched = rest[0];
    if (!sched) {
      this.sink.error(span(n, undefined, text), "the service line has no scheduler", "a scheduler name (rr, wrr, lc, wlc, sh, ...)");
      return false;
    }
    svc.scheduler = sched.text;
    for (let i = 1; i < rest.length; i++) {
      const w = rest[i]!;
      const next = rest[i + 1];
      switch (w.text) {
        case "persistent": {
          const t = next ? wholeNumber(next.text, MAX_TIMEOUT) : undefined;
          if (t === undefined) return this.fail(n, next ?? w, text, "`persistent` needs its timeout", `seconds 1-${MAX_TIMEOUT}`);
          svc.persistent = t;
          i++;
          break;
        }
        case "mask": {
          const m = next ? netmask(next.text, svc.family) : undefined;
          if (m === undefined) return this.fail(n, next ?? w, text, "`mask` needs a netmask", svc.family === "ipv4" ? "a dotted netmask" : "a prefix length 1-128");
          svc.netmask = m;
          i++;
          break;
        }
        case "pe": {
          if (!next) return this.fail(n, w, text, "`pe` needs the persistence engine's name", "a name such as sip");
          svc.persistenceEngine = next.text;
          i++;
          break;
        }
        case "ops":
          svc.onePacket = true;
          break;
        default: {
          // ipvsadm prints scheduler flags in parentheses after the scheduler: `sh (sh-fallback,sh-port)`.
          const flags = w.text.replace(/^\((.*)\)$/, "$1").split(",");
          if (!flags.every((f) => SCHED_FLAGS.has(f))) return this.fail(n, w, text, `unknown service flag ${w.text}`, "persistent N, mask M, pe NAME, ops, or scheduler flags (sh-fallback,sh-port,...)");
          // ipvsadm.c print_sched_flags names sh-* (mh-*) flags only for the sh (mh) scheduler.
          const foreign = flags.find((f) => /^(sh|mh)-/.test(f) && !f.startsWith(`${svc.scheduler}-`));
          if (foreign !== undefined) return this.fail(n, w, text, `scheduler flag ${foreign} with scheduler ${svc.scheduler}: ipvsadm prints it only for ${foreign.slice(0, 2)}`, `flag-1, flag-2 or flag-3 for ${svc.scheduler}`);
          svc.schedulerFlags.push(...flags);
        }
      }
    }
    return true;
  }

  private listedServer(ws: Word[], n: number, text: string): void {
    const svc = this.current;
    if (!svc) {
      this.sink.error(span(n, ws[0], text), "a real server line before any service line", "a service line (TCP/UDP/SCTP/FWM ADDRESS:PORT ...) first");
      return;
    }
    const e = ws[1] ? parseEndpoint(ws[1].text, false) : "ADDRESS:PORT";
    if (typeof e === "string") {
      this.sink.error(span(n, ws[1], text), "the real server address is not readable", e, ws[1]?.text);
      return;
    }
    const rs: IpvsRealServer = { address: e.address, port: e.port!, span: { line: n, col: ws[1]!.col, len: ws[1]!.text.length } };
    const cols = this.listing.serverColumns;
    const vals = ws.slice(2);
    if (vals.length !== cols.length) {
      this.sink.error(span(n, vals[cols.length] ?? undefined, text), `the real server line has ${vals.length} columns after the address, the header ${cols.length}`, cols.join(" "), vals.map((v) => v.text).join(" "));
      return;
    }
    for (const [k, c] of cols.entries()) {
      const v = vals[k]!;
      if (c === "Forward") {
        const f = LISTED_FORWARD[v.text];
        if (!f) return void this.fail(n, v, text, `unknown forwarding method ${v.text}`, "Masq, Route, Tunnel or Local");
        rs.forward = f;
        continue;
      }
      if (COUNTER_COLUMNS.has(c)) {
        if (!isCounter(v.text)) return void this.fail(n, v, text, `the ${c} column is not a count`, "a number (ipvsadm may end it with K, M, G or T)");
        continue;
      }
      const max = c === "Weight" ? MAX_WEIGHT : 4294967295;
      const num = wholeNumber(v.text, max);
      if (num === undefined) return void this.fail(n, v, text, `the ${c} column is not a number`, c === "Weight" ? "a weight 0-65535" : "a whole number");
      if (c === "Weight") rs.weight = num;
      else if (c === "ActiveConn") rs.activeConns = num;
      else if (c === "InActConn") rs.inactConns = num;
      else if (c === "Uthreshold") rs.upperThreshold = num;
      else if (c === "Lthreshold") rs.lowerThreshold = num;
    }
    if (e.family !== svc.family && rs.forward !== "tunnel") {
      // The kernel accepts a real server of the other family only for tunnelling (ip_vs_ctl.c ip_vs_add_dest).
      this.sink.warning(rs.span, `real server ${ws[1]!.text} is not of the service's family`);
    }
    if (this.merging) {
      const same = this.merging.servers.find((s) => s.address === rs.address && s.port === rs.port);
      if (same) mergeServer(same, rs);
      else this.merging.servers.push(rs);
      return;
    }
    this.addServer(svc, rs, ws[1]!, n, text);
  }

  private counters(cols: Column[], vals: Word[], n: number, text: string): boolean {
    if (vals.length !== cols.length) {
      this.sink.error(span(n, vals[cols.length], text), `the line has ${vals.length} columns after the address, the header ${cols.length}`, cols.join(" "), vals.map((v) => v.text).join(" "));
      return false;
    }
    for (const [k, v] of vals.entries()) {
      if (!isCounter(v.text)) return this.fail(n, v, text, `the ${cols[k]} column is not a count`, "a number (ipvsadm may end it with K, M, G or T)");
    }
    return true;
  }

  // ---------- ipvsadm-save ----------

  private saveLine(ws: Word[], n: number, text: string): void {
    this.merging = undefined;
    const cmd = ws[0]!.text;
    const isService = cmd === "-A" || cmd === "--add-service";
    const isServer = cmd === "-a" || cmd === "--add-server";
    if (!isService && !isServer) {
      this.sink.error(span(n, ws[0], text), `ipvsadm-save lines add services and servers; ${cmd} is not read`, "-A (add service) or -a (add real server)", cmd);
      return;
    }
    let key: IpvsServiceKey | undefined;
    let family: Family | undefined;
    let keyWord: Word | undefined;
    const svc: IpvsService = { key: { kind: "fwmark", mark: 0 }, family: "ipv4", onePacket: false, schedulerFlags: [], servers: [], span: { line: n, col: 1, len: text.trimEnd().length } };
    let server: { address: string; family: Family; port?: number } | undefined;
    let serverWord: Word | undefined;
    const rs: Partial<IpvsRealServer> = {};
    let six = false;
    for (let i = 1; i < ws.length; i++) {
      const w = ws[i]!;
      const next = ws[i + 1];
      const opt = SAVE_OPTIONS[w.text];
      if (!opt) return void this.fail(n, w, text, `unknown option ${w.text}`, isService ? "-t/-u/--sctp-service/-f, -s, -p, -M, -b, -o, --pe, -6" : "-t/-u/--sctp-service/-f, -r, -g/-i/-m, -w, -x, -y");
      if (opt.value && !next) return void this.fail(n, w, text, `${w.text} needs a value`, opt.value);
      const v = next!;
      switch (opt.option) {
        case "tcp":
        case "udp":
        case "sctp": {
          const e = parseEndpoint(v.text, false);
          if (typeof e === "string") return void this.fail(n, v, text, "the virtual service address is not readable", e);
          key = { kind: "address", protocol: opt.option, address: e.address, port: e.port! };
          family = e.family;
          keyWord = v;
          i++;
          break;
        }
        case "fwmark": {
          const m = fwmark(v.text);
          if (m === undefined) return void this.fail(n, v, text, "the firewall mark is not readable", "a mark 1-4294967295 (decimal or 0x hex)");
          key = { kind: "fwmark", mark: m };
          keyWord = v;
          i++;
          break;
        }
        case "ipv6":
          six = true;
          break;
        case "scheduler":
          if (!isService) return void this.fail(n, w, text, `${w.text} belongs to a service (-A), not a real server`, "-r, -g/-i/-m, -w");
          svc.scheduler = v.text;
          i++;
          break;
        case "persistent": {
          if (!isService) return void this.fail(n, w, text, `${w.text} belongs to a service (-A)`, "-r, -g/-i/-m, -w");
          // ipvsadm's -p takes an optional timeout: alone it is 300 seconds (ipvsadm.c DEF_PERSISTENT_TIMEOUT... `-p [timeout]`).
          const t = next && /^\d/.test(next.text) ? wholeNumber(next.text, MAX_TIMEOUT) : 300;
          if (t === undefined || t === 0) return void this.fail(n, v, text, "the persistence timeout is out of range", `seconds 1-${MAX_TIMEOUT}`);
          svc.persistent = t;
          if (next && /^\d/.test(next.text)) i++;
          break;
        }
        case "netmask":
          if (!isService) return void this.fail(n, w, text, `${w.text} belongs to a service (-A)`, "-r, -g/-i/-m, -w");
          svc.netmask = v.text;
          i++;
          break;
        case "sched-flags": {
          if (!isService) return void this.fail(n, w, text, `${w.text} belongs to a service (-A)`, "-r, -g/-i/-m, -w");
          const flags = v.text.split(",");
          const bad = flags.find((f) => !SCHED_FLAGS.has(f));
          if (bad !== undefined) return void this.fail(n, v, text, `unknown scheduler flag ${bad}`, [...SCHED_FLAGS].join(", "));
          svc.schedulerFlags.push(...flags);
          i++;
          break;
        }
        case "ops":
          svc.onePacket = true;
          break;
        case "pe":
          svc.persistenceEngine = v.text;
          i++;
          break;
        case "real-server": {
          if (!isServer) return void this.fail(n, w, text, `${w.text} belongs to a real server line (-a)`, "-s, -p, -M");
          const e = parseEndpoint(v.text, true);
          if (typeof e === "string") return void this.fail(n, v, text, "the real server address is not readable", e);
          server = e;
          serverWord = v;
          i++;
          break;
        }
        case "masq":
        case "route":
        case "tunnel":
          if (!isServer) return void this.fail(n, w, text, `${w.text} belongs to a real server line (-a)`, "-s, -p, -M");
          rs.forward = opt.option;
          break;
        case "weight":
        case "u-threshold":
        case "l-threshold": {
          if (!isServer) return void this.fail(n, w, text, `${w.text} belongs to a real server line (-a)`, "-s, -p, -M");
          const num = wholeNumber(v.text, opt.option === "weight" ? MAX_WEIGHT : 2147483647);
          if (num === undefined) return void this.fail(n, v, text, `${w.text} is out of range`, opt.option === "weight" ? "a weight 0-65535" : "a whole number");
          if (opt.option === "weight") rs.weight = num;
          else if (opt.option === "u-threshold") rs.upperThreshold = num;
          else rs.lowerThreshold = num;
          i++;
          break;
        }
        case "tun":
          // Tunnel encapsulation details (--tun-type, --tun-port, ...): kept out of the model.
          if (opt.value) i++;
          break;
      }
    }
    if (!key || !keyWord) return void this.fail(n, undefined, text, `${cmd} names no virtual service`, "-t ADDR:PORT, -u ADDR:PORT, --sctp-service ADDR:PORT or -f MARK");
    const fam: Family = key.kind === "fwmark" ? (six ? "ipv6" : "ipv4") : family!;
    const name = ipvsServiceName({ key, family: fam });
    if (isService) {
      svc.key = key;
      svc.family = fam;
      if (svc.netmask !== undefined) {
        const m = netmask(svc.netmask, fam);
        if (m === undefined) return void this.fail(n, keyWord, text, "the persistence netmask is not readable", fam === "ipv4" ? "a dotted netmask" : "a prefix length 1-128");
        svc.netmask = m;
      }
      // ipvsadm.c process_options: the checks it makes before adding a service.
      if (key.kind === "address" && key.port === 0 && svc.persistent === undefined) return void this.fail(n, keyWord, text, "ipvsadm refuses a port-zero service that is not persistent (\"Zero port specified for non-persistent service\")", "a port, or -p");
      if (svc.onePacket && !(key.kind === "fwmark" || key.protocol === "udp")) return void this.fail(n, keyWord, text, "ipvsadm refuses one-packet scheduling (-o) but for UDP or firewall-mark services", "-u or -f");
      const foreign = svc.schedulerFlags.find((f) => /^(sh|mh)-/.test(f) && !f.startsWith(`${svc.scheduler ?? "wlc"}-`));
      if (foreign !== undefined) return void this.fail(n, keyWord, text, `ipvsadm refuses scheduler flag ${foreign} but with -s ${foreign.slice(0, 2)} ("incompatible scheduler flag")`, `-s ${foreign.slice(0, 2)}`);
      if (svc.scheduler === undefined) {
        // ipvsadm adds a service without -s with its default scheduler (ipvsadm.c DEF_SCHED "wlc").
        svc.scheduler = "wlc";
        this.sink.warning(span(n, ws[0], text), `${name} has no -s: ipvsadm adds it with its default scheduler, wlc`);
      }
      this.add(svc, n, ws[0]!, text);
      this.current = undefined;
      return;
    }
    const owner = this.byName.get(name);
    if (!owner) return void this.fail(n, keyWord, text, `real server for ${name}, which no -A line before it adds (ipvsadm-restore refuses it: no such service)`, "an -A line for the service first");
    if (!server || !serverWord) return void this.fail(n, undefined, text, "-a names no real server", "-r ADDRESS[:PORT]");
    // Without a port the real server takes the service's (ipvsadm.c parse_options, -r: "copy vport
    // to dport if not specified"); for -g and -i ipvsadm sets the service's port whatever was given
    // (process_options: "the destination port must be equal to the service port").
    let port = server.port ?? (key.kind === "address" ? key.port : 0);
    if (key.kind === "address" && (rs.forward ?? "route") !== "masq" && port !== key.port) {
      this.sink.warning({ line: n, col: serverWord.col, len: serverWord.text.length }, `${rs.forward === "tunnel" ? "-i" : "-g"} keeps the service's port: ipvsadm adds ${serverWord.text} with port ${key.port}`);
      port = key.port;
    }
    // ipvsadm's defaults for a real server: gatewaying (-g) and weight 1 (ipvsadm.c, DEF_WEIGHT... fwd IP_VS_CONN_F_DROUTE).
    const real: IpvsRealServer = { address: server.address, port, forward: rs.forward ?? "route", weight: rs.weight ?? 1, span: { line: n, col: serverWord.col, len: serverWord.text.length } };
    if (rs.upperThreshold !== undefined) real.upperThreshold = rs.upperThreshold;
    if (rs.lowerThreshold !== undefined) real.lowerThreshold = rs.lowerThreshold;
    if (server.family !== owner.family && real.forward !== "tunnel") {
      return void this.fail(n, serverWord, text, `real server ${serverWord.text} is not of ${name}'s family (the kernel takes another family only for tunnelling)`, `an ${owner.family === "ipv4" ? "IPv4" : "IPv6"} address`);
    }
    this.addServer(owner, real, serverWord, n, text);
  }

  // ---------- shared ----------

  private add(svc: IpvsService, n: number, w: Word, text: string): void {
    const name = ipvsServiceName(svc);
    if (this.byName.has(name)) {
      // ipvsadm -A of an existing service fails (EEXIST, "Service already exists").
      this.sink.error(span(n, w, text), `${name} is added twice (first at line ${this.byName.get(name)!.span.line}); ipvsadm refuses it: service already exists`);
      this.current = undefined;
      return;
    }
    this.byName.set(name, svc);
    this.services.push(svc);
    this.current = svc;
  }

  private addServer(svc: IpvsService, rs: IpvsRealServer, w: Word, n: number, text: string): void {
    if (svc.servers.some((s) => s.address === rs.address && s.port === rs.port)) {
      this.sink.error(span(n, w, text), `real server ${w.text} is added to ${ipvsServiceName(svc)} twice; ipvsadm refuses it: destination already exists`);
      return;
    }
    svc.servers.push(rs);
  }

  private fail(n: number, w: Word | undefined, text: string, message: string, expected: string): false {
    this.sink.error(span(n, w, text), message, expected, w?.text);
    return false;
  }
}

/** What one listing of a service shows that another (`--stats`) does not: filled in, never overwritten. */
function mergeService(into: IpvsService, from: IpvsService): void {
  if (into.scheduler === undefined && from.scheduler !== undefined) into.scheduler = from.scheduler;
  if (into.persistent === undefined && from.persistent !== undefined) into.persistent = from.persistent;
  if (into.netmask === undefined && from.netmask !== undefined) into.netmask = from.netmask;
  if (into.persistenceEngine === undefined && from.persistenceEngine !== undefined) into.persistenceEngine = from.persistenceEngine;
  into.onePacket ||= from.onePacket;
  for (const f of from.schedulerFlags) if (!into.schedulerFlags.includes(f)) into.schedulerFlags.push(f);
}

function mergeServer(into: IpvsRealServer, from: IpvsRealServer): void {
  for (const k of ["forward", "weight", "activeConns", "inactConns", "upperThreshold", "lowerThreshold"] as const) {
    if (into[k] === undefined && from[k] !== undefined) (into as unknown as Record<string, unknown>)[k] = from[k];
  }
}

const LISTED_FORWARD: Record<string, IpvsForward> = { Masq: "masq", Route: "route", Tunnel: "tunnel", Local: "local" };

type SaveOption =
  | { option: "tcp" | "udp" | "sctp" | "fwmark" | "scheduler" | "netmask" | "sched-flags" | "pe" | "real-server" | "weight" | "u-threshold" | "l-threshold"; value: string }
  | { option: "persistent"; value?: undefined }
  | { option: "ipv6" | "ops" | "masq" | "route" | "tunnel"; value?: undefined }
  | { option: "tun"; value?: string };

/** ipvsadm's options as ipvsadm-save writes them, with their long names (ipvsadm(8)). */
const SAVE_OPTIONS: Record<string, SaveOption> = {
  "-t": { option: "tcp", value: "ADDRESS:PORT" }, "--tcp-service": { option: "tcp", value: "ADDRESS:PORT" },
  "-u": { option: "udp", value: "ADDRESS:PORT" }, "--udp-service": { option: "udp", value: "ADDRESS:PORT" },
  "--sctp-service": { option: "sctp", value: "ADDRESS:PORT" }, "-q": { option: "sctp", value: "ADDRESS:PORT" },
  "-f": { option: "fwmark", value: "a firewall mark" }, "--fwmark-service": { option: "fwmark", value: "a firewall mark" },
  "-6": { option: "ipv6" }, "--ipv6": { option: "ipv6" },
  "-s": { option: "scheduler", value: "a scheduler name" }, "--scheduler": { option: "scheduler", value: "a scheduler name" },
  "-p": { option: "persistent" }, "--persistent": { option: "persistent" },
  "-M": { option: "netmask", value: "a netmask" }, "--netmask": { option: "netmask", value: "a netmask" },
  "-b": { option: "sched-flags", value: "scheduler flags" }, "--sched-flags": { option: "sched-flags", value: "scheduler flags" },
  "-o": { option: "ops" }, "--ops": { option: "ops" },
  "--pe": { option: "pe", value: "a persistence engine" },
  "-r": { option: "real-server", value: "ADDRESS[:PORT]" }, "--real-server": { option: "real-server", value: "ADDRESS[:PORT]" },
  "-g": { option: "route" }, "--gatewaying": { option: "route" },
  "-i": { option: "tunnel" }, "--ipip": { option: "tunnel" },
  "-m": { option: "masq" }, "--masquerading": { option: "masq" },
  "-w": { option: "weight", value: "a weight" }, "--weight": { option: "weight", value: "a weight" },
  "-x": { option: "u-threshold", value: "a connection count" }, "--u-threshold": { option: "u-threshold", value: "a connection count" },
  "-y": { option: "l-threshold", value: "a connection count" }, "--l-threshold": { option: "l-threshold", value: "a connection count" },
  "--tun-type": { option: "tun", value: "ipip, gue or gre" }, "--tun-port": { option: "tun", value: "a port" },
  "--tun-nocsum": { option: "tun" }, "--tun-csum": { option: "tun" }, "--tun-remcsum": { option: "tun" },
};

function fwmark(text: string): number | undefined {
  const n = /^0x[0-9a-f]{1,8}$/i.test(text) ? parseInt(text, 16) : /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  return n !== undefined && n >= 1 && n <= 0xffffffff ? n : undefined;
}

/** A persistence netmask: dotted for IPv4 (contiguous), a prefix length for IPv6. */
function netmask(text: string, family: Family): string | undefined {
  if (family === "ipv6") {
    const n = wholeNumber(text, 128);
    return n !== undefined && n >= 1 ? String(n) : undefined;
  }
  if (addressFamily(text) !== "ipv4") return undefined;
  const v = text.split(".").reduce((a, p) => a * 256 + Number(p), 0);
  const inv = (~v >>> 0);
  // Contiguous: the inverted mask plus one is a power of two.
  return (inv & (inv + 1)) === 0 ? text : undefined;
}

function isCounter(text: string): boolean {
  return /^\d+[KMGT]?$/.test(text);
}

export interface IpvsParse {
  value: IpvsTable;
  diagnostics: Diagnostic[];
}

/** Reads `ipvsadm -Ln` (any column variant) and `ipvsadm-save -n` text; never throws on input. */
export function parseIpvsText(text: string, sink: DiagnosticSink): IpvsTable {
  const r = new Reader(sink);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) r.line(lines[i]!.replace(/\r$/, ""), i + 1);
  return { services: r.services, ...(r.kernelOrder ? { kernelOrder: true } : {}) };
}

export function parseIpvs(text: string, opts: { file?: string } = {}): IpvsParse {
  const sink = new DiagnosticSink(opts.file ?? "<ipvs>");
  const value = parseIpvsText(text, sink);
  return { value, diagnostics: sink.items };
}
