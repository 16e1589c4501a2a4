/** The IPVS reader: ipvsadm -Ln (and its column variants) and ipvsadm-save -n, errors located, the save form back. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseIpvs, ipvsSaveText } from "../../src/ipvs/index.js";
import { detectFormat } from "../../src/detect.js";
import { readInput, ipvsOf, rulesetsOf } from "../../src/inputs.js";
import type { IpvsService, IpvsTable } from "../../src/model/ipvs.js";

const LISTING = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.107.161.255:8080 rr
  -> 10.244.146.205:80            Masq    1      0          0
  -> 10.244.153.201:80            Masq    1      3          12
TCP  172.18.22.111:30080 rr persistent 10800 mask 255.255.255.0
  -> 10.244.153.201:80            Route   2      0          0
UDP  [fd00::10]:53 sh (sh-fallback,sh-port)
  -> [fd00::5]:53                 Masq    1      0          0
FWM  123 wlc ops
  -> 10.0.0.7:0                   Tunnel  0      0          0
`;

const STATS = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.107.161.255:8080                12      120        0    7200K        0
  -> 10.244.146.205:80                   6       60        0     3600        0
`;

const SAVE = `-A -t 10.107.161.255:8080 -s rr
-a -t 10.107.161.255:8080 -r 10.244.146.205:80 -m -w 1
-a -t 10.107.161.255:8080 -r 10.244.153.201:80 -m -w 1
-A -u [fd00::10]:53 -s sh -p 300 -M 64 -b sh-fallback
-a -u [fd00::10]:53 -r [fd00::5]:53 -g -w 3
-A -f 123 -s wrr
-a -f 123 -r 10.0.0.7:0 -i -w 0
`;

function strip(t: IpvsTable): unknown {
  return t.services.map(({ span: _s, servers, ...rest }) => ({ ...rest, servers: servers.map(({ span: _r, ...x }) => x) }));
}

describe("ipvsadm -Ln", () => {
  const r = parseIpvs(LISTING, { file: "l.txt" });
  it("reads services, flags and real servers with their columns", () => {
    expect(r.diagnostics).toEqual([]);
    const [a, b, c, d] = r.value.services;
    expect(a).toMatchObject({ key: { kind: "address", protocol: "tcp", address: "10.107.161.255", port: 8080 }, family: "ipv4", scheduler: "rr" });
    expect(a!.servers.map((s) => [s.address, s.port, s.forward, s.weight, s.activeConns, s.inactConns])).toEqual([
      ["10.244.146.205", 80, "masq", 1, 0, 0], ["10.244.153.201", 80, "masq", 1, 3, 12],
    ]);
    expect(b).toMatchObject({ persistent: 10800, netmask: "255.255.255.0" });
    expect(b!.servers[0]).toMatchObject({ forward: "route", weight: 2 });
    expect(c).toMatchObject({ family: "ipv6", key: { address: "fd00::10", port: 53, protocol: "udp" }, scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"] });
    expect(d).toMatchObject({ key: { kind: "fwmark", mark: 123 }, onePacket: true, scheduler: "wlc" });
    expect(d!.servers[0]).toMatchObject({ forward: "tunnel", weight: 0, port: 0 });
  });

  it("--stats: the counters are read by their column names, never as weights; scheduler and method stay unknown", () => {
    const s = parseIpvs(STATS, { file: "s.txt" });
    expect(s.diagnostics).toEqual([]);
    const svc = s.value.services[0]!;
    expect(svc.scheduler).toBeUndefined();
    expect(svc.servers[0]).toMatchObject({ address: "10.244.146.205", port: 80 });
    expect(svc.servers[0]!.weight).toBeUndefined();
    expect(svc.servers[0]!.forward).toBeUndefined();
  });

  it("--rate columns are read the same way", () => {
    const rate = STATS.replace("Conns   InPkts  OutPkts  InBytes OutBytes", "CPS    InPPS   OutPPS    InBPS   OutBPS");
    expect(parseIpvs(rate).diagnostics).toEqual([]);
  });

  it("-Ln and --stats pasted together: one service, what -Ln shows kept", () => {
    const both = parseIpvs(LISTING + STATS, { file: "b.txt" });
    expect(both.diagnostics).toEqual([]);
    const svc = both.value.services.find((s) => s.key.kind === "address" && s.key.port === 8080)!;
    expect(svc.scheduler).toBe("rr");
    expect(svc.servers).toHaveLength(2);
    expect(svc.servers[0]).toMatchObject({ forward: "masq", weight: 1 });
  });

  it("locates what it cannot read, saying what was expected", () => {
    const bad = parseIpvs(LISTING.replace("Route   2", "Routed  2").replace("Masq    1      3", "Masq    x      3"), { file: "bad.txt" });
    const msgs = bad.diagnostics.map((d) => `${d.line}:${d.col} ${d.message} | ${d.expected}`);
    expect(msgs).toContain("6:43 the Weight column is not a number | a weight 0-65535");
    expect(msgs).toContain("8:35 unknown forwarding method Routed | Masq, Route, Tunnel or Local");
    const short = parseIpvs("TCP  10.0.0.1:80 rr\n  -> 10.0.0.2:80  Masq 1\n");
    expect(short.diagnostics[0]).toMatchObject({ line: 2, message: "the real server line has 2 columns after the address, the header 4" });
    const orphan = parseIpvs("  -> 10.0.0.2:80  Masq 1 0 0\n");
    expect(orphan.diagnostics[0]).toMatchObject({ line: 1, col: 3, message: "a real server line before any service line" });
    expect(parseIpvs("TCP  fd00::1:80 rr\n").diagnostics[0]).toMatchObject({ col: 6, expected: "an IPv6 address in brackets ([fd00::1]:80)" });
  });
});

describe("ipvsadm-save -n", () => {
  const r = parseIpvs(SAVE, { file: "save.txt" });
  it("reads -A and -a lines, long and short", () => {
    expect(r.diagnostics).toEqual([]);
    expect(r.value.services.map((s) => [s.scheduler, s.servers.length])).toEqual([["rr", 2], ["sh", 1], ["wrr", 1]]);
    expect(r.value.services[1]).toMatchObject({ family: "ipv6", persistent: 300, netmask: "64", schedulerFlags: ["sh-fallback"] });
    expect(r.value.services[2]!.servers[0]).toMatchObject({ forward: "tunnel", weight: 0 });
    const long = parseIpvs("--add-service --tcp-service 10.0.0.1:80 --scheduler wlc\n--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.0.2 --masquerading --weight 5\n");
    expect(long.diagnostics).toEqual([]);
    // No port: the service's (ipvsadm fills it in).
    expect(long.value.services[0]!.servers[0]).toMatchObject({ address: "10.0.0.2", port: 80, forward: "masq", weight: 5 });
  });

  it("refuses what ipvsadm refuses (ipvsadm.c process_options), located", () => {
    const msgs = (t: string) => parseIpvs(t).diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
    expect(msgs("-A -t 10.0.0.1:0 -s rr\n")[0]).toMatch(/^1:7 ipvsadm refuses a port-zero service that is not persistent/);
    expect(msgs("-A -t 10.0.0.1:0 -s rr -p\n")).toEqual([]);
    expect(msgs("-A -t 10.0.0.1:53 -s rr -o\n")[0]).toMatch(/one-packet scheduling \(-o\) but for UDP/);
    expect(msgs("-A -t 10.0.0.1:53 -s rr -b sh-port\n")[0]).toMatch(/scheduler flag sh-port but with -s sh/);
    expect(parseIpvs("TCP  10.0.0.1:53 rr (sh-port)\n").diagnostics[0]).toMatchObject({ line: 1, col: 21, message: "scheduler flag sh-port with scheduler rr: ipvsadm prints it only for sh" });
    // -g and -i keep the service's port (said as a warning, as ipvsadm does it silently).
    const dr = parseIpvs("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g\n");
    expect(dr.value.services[0]!.servers[0]).toMatchObject({ port: 80, forward: "route", weight: 1 });
    expect(dr.diagnostics[0]).toMatchObject({ severity: "warning", line: 2, col: 22 });
  });

  it("refuses what ipvsadm-restore refuses, located", () => {
    const bad = parseIpvs("-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 70000\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -Z\n", { file: "r.txt" });
    const msgs = bad.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
    expect(msgs[0]).toBe("1:7 real server for TCP 10.0.0.1:80, which no -A line before it adds (ipvsadm-restore refuses it: no such service)");
    expect(msgs[1]).toBe("3:1 TCP 10.0.0.1:80 is added twice (first at line 2); ipvsadm refuses it: service already exists");
    expect(msgs[2]).toBe("4:40 -w is out of range");
    expect(msgs[3]).toBe("5:34 unknown option -Z");
  });

  it("a comment naming ipvsadm --nosort says the real servers are in the kernel's order", () => {
    expect(parseIpvs("# ipvsadm -S -n --nosort\n" + SAVE).value.kernelOrder).toBe(true);
    expect(parseIpvs(SAVE).value.kernelOrder).toBeUndefined();
  });

  it("a service without -s gets ipvsadm's default scheduler, wlc, and says so", () => {
    const r2 = parseIpvs("-A -t 10.0.0.1:80\n");
    expect(r2.value.services[0]!.scheduler).toBe("wlc");
    expect(r2.diagnostics[0]).toMatchObject({ severity: "warning", line: 1 });
  });
});

describe("format detection", () => {
  it("tells ipvsadm output from iptables -S (both have -A lines)", () => {
    expect(detectFormat(SAVE).format).toBe("ipvsadm");
    expect(detectFormat(LISTING).format).toBe("ipvsadm");
    expect(detectFormat("-A INPUT -j ACCEPT\n").format).toBe("save");
    const r = readInput(SAVE, { file: "ipvsadm.txt" });
    expect(ipvsOf(r.input)[0]!.services).toHaveLength(3);
    expect(rulesetsOf(r.input)).toEqual([]);
  });
});

describe("pasted with a prompt or fences", () => {
  it("a prompt and code fences around ipvsadm output are skipped; the prompt's --nosort says the order is the kernel's", () => {
    const text = "```\n[root@node1 ~]# ipvsadm -Ln --nosort\n" + LISTING + "```\n";
    expect(detectFormat(text).format).toBe("ipvsadm");
    const r = readInput(text, { file: "issue.md" });
    expect(r.diagnostics).toEqual([]);
    const t = ipvsOf(r.input)[0]!;
    expect(t.services).toHaveLength(4);
    expect(t.kernelOrder).toBe(true);
  });

  it("prose around it is located, line by line, not guessed", () => {
    const r = readInput("Here is my ipvs table:\n" + SAVE, { file: "issue.txt" });
    expect(r.diagnostics.map((d) => [d.line, d.col, d.message])).toEqual([[1, 1, "not a line of ipvsadm -Ln or ipvsadm-save -n output"]]);
    expect(ipvsOf(r.input)[0]!.services).toHaveLength(3);
  });
});

describe("no input crashes the reader", () => {
  const piece = fc.constantFrom(
    "sh", "(sh-port,flag-1)", "-A", "-a", "-t", "-u", "-f", "-s", "rr", "-r", "-m", "-g", "-i", "-w", "-p", "-M", "-b", "-6", "--sctp-service", "10.0.0.1:80", "[fd00::1]:53", "[fd00::1", "10.0.0.1:",
    "TCP", "UDP", "FWM", "->", "Masq", "Route", "1", "0", "99999999999", "persistent", "mask", "(sh-port)", "ops", "Prot", "LocalAddress:Port", "Conns", "RemoteAddress:Port", "#", "\t", "",
  );
  it("any line of ipvsadm words: a table and located diagnostics, never a throw", () => {
    fc.assert(
      fc.property(fc.array(fc.array(piece, { maxLength: 9 }), { maxLength: 12 }), (lines) => {
        const text = lines.map((l) => l.join(" ")).join("\n");
        const r = parseIpvs(text, { file: "f" });
        const n = text.split("\n").length;
        const outside = r.diagnostics.filter((d) => d.line < 1 || d.line > n || d.col < 1 || d.file !== "f");
        expect(outside).toEqual([]);
        // What was read prints back and reads again without errors.
        expect(parseIpvs(ipvsSaveText(r.value)).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });
});

describe("the save form back", () => {
  it("prints ipvsadm-save -n lines", () => {
    expect(ipvsSaveText(r0().value)).toBe(SAVE);
  });
  it("says what a --stats listing did not show instead of inventing it", () => {
    expect(ipvsSaveText(parseIpvs(STATS).value)).toBe(
      "# not shown by the input: scheduler (-s)\n-A -t 10.107.161.255:8080\n# not shown by the input: forwarding method, weight (-w)\n-a -t 10.107.161.255:8080 -r 10.244.146.205:80\n",
    );
  });

  const port = fc.integer({ min: 0, max: 65535 });
  const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join("."));
  const server = fc.record({ address: v4, port, forward: fc.constantFrom("masq" as const, "route" as const, "tunnel" as const), weight: fc.integer({ min: 0, max: 65535 }) });
  const service = fc.record({
    key: fc.oneof(
      fc.record({ kind: fc.constant("address" as const), protocol: fc.constantFrom("tcp" as const, "udp" as const, "sctp" as const), address: v4, port }),
      fc.record({ kind: fc.constant("fwmark" as const), mark: fc.integer({ min: 1, max: 0xffffffff }) }),
    ),
    scheduler: fc.constantFrom("rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh", "lblc", "lblcr", "fo", "ovf", "twos", "my-own"),
    persistent: fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
    onePacket: fc.boolean(),
    schedulerFlags: fc.subarray(["sh-fallback", "sh-port"]),
    servers: fc.uniqueArray(server, { selector: (s) => `${s.address}:${s.port}`, maxLength: 4 }),
  });
  it("round trip: parse(print(table)) is the table (local is printed as -g, so it is left out)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(service, { selector: (s) => JSON.stringify(s.key), maxLength: 5 }), (svcs) => {
        // Only what ipvsadm accepts: a port-zero service is persistent, -o is for UDP and
        // firewall marks, sh-* flags for sh, and -g/-i servers have the service's port.
        const table: IpvsTable = {
          services: svcs.map((s) => {
            const key = s.key;
            const servicePort = key.kind === "address" ? key.port : undefined;
            const servers = s.servers.map((x) => ({ ...x, ...(servicePort !== undefined && x.forward !== "masq" ? { port: servicePort } : {}), span: { line: 0, col: 0, len: 0 } }));
            const unique = servers.filter((x, i) => servers.findIndex((y) => y.address === x.address && y.port === x.port) === i);
            const out: IpvsService = {
              key, family: "ipv4", scheduler: s.scheduler, servers: unique, span: { line: 0, col: 0, len: 0 },
              onePacket: s.onePacket && (key.kind === "fwmark" || key.protocol === "udp"),
              schedulerFlags: s.scheduler === "sh" ? s.schedulerFlags : [],
            };
            if (s.persistent !== undefined) out.persistent = s.persistent;
            else if (servicePort === 0) out.persistent = 300;
            return out;
          }),
        };
        const back = parseIpvs(ipvsSaveText(table));
        expect(back.diagnostics).toEqual([]);
        expect(strip(back.value)).toEqual(strip(table));
      }),
      { numRuns: 200 },
    );
  });
});

function r0() {
  return parseIpvs(SAVE);
}
