/**
 * The node-fact readers (node.json, ip -j addr/route, ip addr, ip route, route -n, sysctl),
 * the --iface/--local-addr/--route shortcuts and the file reader refuse invalid input with
 * located errors — never a crash, never a silent guess.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { factsFromTexts } from "../../src/facts/parse.js";
import { parseLocatedJson } from "../../src/facts/located-json.js";
import { assembleInputs, InputError } from "../../src/assemble.js";

const RULES = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

/** The diagnostics of one facts text. */
const read = (text: string, file = "f") => factsFromTexts([{ text, file }]);
const errors = (text: string) => read(text).diagnostics.filter((d) => d.severity === "error");

/** Line and column of the n-th (0-based) occurrence of `needle` in `text`. */
function where(text: string, needle: string, nth = 0): { line: number; col: number } {
  let at = -1;
  for (let k = 0; k <= nth; k++) at = text.indexOf(needle, at + 1);
  const before = text.slice(0, at);
  return { line: before.split("\n").length, col: at - before.lastIndexOf("\n") };
}

/** Exactly one error, at `needle`, whose message matches. */
function oneErrorAt(text: string, needle: string, message: RegExp): void {
  const e = errors(text);
  expect(e, text).toHaveLength(1);
  expect(e[0], text).toMatchObject({ ...where(text, needle), message: expect.stringMatching(message) });
}

describe("an invalid address is a located error, not a crash", () => {
  it("--iface eth0=999.1.1.1/24 is a one-line input error naming the flag", () => {
    expect(() => assembleInputs({ rules: [{ file: "r", text: RULES }], shortcuts: { ifaces: ["eth0=999.1.1.1/24"] } })).toThrow(InputError);
    expect(() => assembleInputs({ rules: [{ file: "r", text: RULES }], shortcuts: { ifaces: ["eth0=999.1.1.1/24"] } })).toThrow(/--iface "eth0=999.1.1.1\/24": "999.1.1.1" is not an IPv4 or IPv6 address/);
  });
  it("in node.json, in ip -j addr and in ip addr text", () => {
    const nj = '{\n  "interfaces": [\n    { "name": "eth0", "addrs": ["999.1.1.1/24"] }\n  ]\n}\n';
    oneErrorAt(nj, '"999.1.1.1/24"', /bad address "999.1.1.1\/24" of eth0/);
    const ja = '[{"ifname":"eth0","addr_info":[{"family":"inet","local":"999.1.1.1","prefixlen":24}]}]';
    oneErrorAt(ja, '"999.1.1.1"', /not an IPv4 address/);
    const ta = "2: eth0: <BROADCAST> mtu 1500\n    inet 999.1.1.1/24 scope global eth0\n";
    oneErrorAt(ta, "999.1.1.1", /bad inet address/);
    // And the node can still be built from what was read: no crash downstream.
    expect(() => assembleInputs({ rules: [{ file: "r", text: RULES }], node: [{ file: "n.json", text: nj }] })).not.toThrow();
  });
});

describe("node.json: every field of its type, located", () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{"interfaces": null}', "null", /"interfaces": found null$/],
    ['{"interfaces": {"eth0": 1}}', '{"eth0"', /"interfaces": found an object/],
    ['{"interfaces": [{"name": "eth0", "addrs": "1.2.3.4/24"}]}', '"1.2.3.4/24"', /addrs of eth0: found the string "1.2.3.4\/24"/],
    ['{"interfaces": [{"name": "eth0", "addrs": [5]}]}', "5]", /an address of eth0: found the number 5/],
    ['{"interfaces": [{"name": "0123456789abcdef", "addrs": []}]}', '"0123456789abcdef"', /at most 15/],
    ['{"interfaces": [{"addrs": []}]}', '{"addrs"', /needs a name/],
    ['{"interfaces": [{"name": 3}]}', "3}", /name: found the number 3/],
    ['{"interfaces": [{"name": "eth0", "addrs": ["10.0.0.1/33"]}]}', '"10.0.0.1/33"', /prefix length "33"/],
    ['{"interfaces": [{"name": "eth0", "mac": "zz"}]}', '"zz"', /bad mac/],
    ['{"interfaces": [{"name": "eth0", "colour": "red"}]}', '"colour"', /unknown key "colour"/],
    ['{"interfaces": [{"name": "eth0"}, {"name": "eth0"}]}', '"eth0"}]', /given twice/],
    ['{"interfaces": [{"name": "f", "kind": "vxlan", "vxlan": {"port": 99999}}]}', "99999", /vxlan port of f: found the number 99999/],
    ['{"interfaces": [{"name": "f", "kind": "vxlan", "vxlan": {"peers": {"10.0.0.1": 7}}}]}', "7}", /vxlan peer 10.0.0.1 of f: found the number 7/],
    ['{"interfaces": [{"name": "f", "kind": "ipip", "vxlan": {}}]}', '"vxlan"', /of kind ipip but has "vxlan" settings/],
    ['{"routes": "default via 10.0.0.1"}', '"default', /"routes": found the string/],
    ['{"routes": ["10.0.0.0/8 dev eth0 bogus"]}', "bogus", /unknown word "bogus"/],
    ['{"routes": ["10.0.0.0/8 dev 0123456789abcdef"]}', "0123456789abcdef", /at most 15/],
    ['{"routes": ["10.0.0.0/8 dev eth0 src 999.0.0.1"]}', "999.0.0.1", /bad src/],
    ['{"routes": ["10.0.0.0/8 dev eth0 metric 99999999999"]}', "99999999999", /bad metric/],
    ['{"sysctl": {"net.ipv4.ip_forward": "banana"}}', '"banana"', /the kernel holds an integer there/],
    ['{"sysctl": {"net.ipv4.ip_forward": true}}', "true", /found true/],
    ['{"sysctl": {"net.netfilter.nf_conntrack_tcp_loose": 2}}', "2}", /0 or 1/],
    ['{"sysctl": []}', "[]", /"sysctl": found a list/],
    ['{"interfaces": [], "interfaces": []}', '"interfaces": []}', /"interfaces" given twice/],
    ['{"interfaces": [}', "}", /not valid JSON/],
    ["[1, 2]", "[1", /cannot|not|found/],
  ];
  for (const [text, needle, message] of cases) {
    it(text, () => {
      const e = errors(text);
      expect(e.length, JSON.stringify(e)).toBeGreaterThanOrEqual(1);
      if (text.startsWith("[")) return; // a list is ip -j output, not node.json: its own test below
      expect(e).toHaveLength(1);
      expect(e[0]).toMatchObject({ ...where(text, needle), message: expect.stringMatching(message) });
    });
  }
  it("reads a good node.json with no diagnostics, canonical addresses", () => {
    const r = read('{"interfaces": [{"name": "eth0", "addrs": ["2001:DB8:0::1/64"], "mac": "52:54:00:8E:1A:11"}, {"name": "t", "ipip": true}], "sysctl": {"net.ipv4.ip_forward": 2, "kernel.hostname": "x"}}');
    expect(r.diagnostics).toEqual([]);
    expect(r.facts.interfaces[0]).toMatchObject({ addrs: [{ address: "2001:db8::1", prefixLength: 64, family: "ipv6" }], mac: "52:54:00:8e:1a:11" });
    expect(r.facts.interfaces[1]!.tunnel).toEqual({ kind: "ipip" });
    expect(r.facts.sysctl["net.ipv4.ip_forward"]).toBe("2");
  });
});

describe("ip -j addr and ip -j route", () => {
  it("refuses a prefixlen out of range, a wrong family, a missing field, at the value", () => {
    oneErrorAt('[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":99}]}]', "99", /prefixlen of 10.0.0.1 on eth0: found the number 99$/);
    oneErrorAt('[{"ifname":"eth0","addr_info":[{"family":"inet6","local":"10.0.0.1","prefixlen":64}]}]', '"10.0.0.1"', /not an IPv6 address/);
    oneErrorAt('[{"ifname":"eth0","addr_info":[{"family":"inet","prefixlen":24}]}]', '{"family"', /without "local"/);
    oneErrorAt('[{"ifname":"eth0","addr_info":[{"family":"ipx","local":"1","prefixlen":24}]}]', '"ipx"', /unknown address family/);
    oneErrorAt('[{"ifname":"eth0","addr_info":"10.0.0.1/24"}]', '"10.0.0.1/24"', /addr_info of eth0: found the string/);
    oneErrorAt('[{"ifname":"eth0","link_type":"ether","address":"nonsense"}]', '"nonsense"', /bad Ethernet address/);
    oneErrorAt('[{"ifname":"0123456789abcdef"}]', '"0123456789abcdef"', /at most 15/);
    oneErrorAt('[{"ifname":"eth0","linkinfo":{"info_kind":"vxlan","info_data":{"port":"x"}}}]', '"x"', /vxlan port of eth0/);
    oneErrorAt('[{"mtu":1500,"addr_info":[]}]', '{"mtu"', /without "ifname"/);
  });
  it("accepts the empty objects ip -j -4 addr prints for filtered links, and an ipip link's 0.0.0.0 address is no MAC", () => {
    const r = read('[{},{"ifname":"tunl0","link_type":"ipip","address":"0.0.0.0","addr_info":[]}]');
    expect(r.diagnostics).toEqual([]);
    expect(r.facts.interfaces[0]!.mac).toBeUndefined();
  });
  it("ip -j route: wrong types, bad values, missing dst, located", () => {
    oneErrorAt('[{"dst":"10.0.0.0/8","dev":"eth0","metric":"high"}]', '"high"', /route metric: found the string "high"/);
    oneErrorAt('[{"dst":"10.0.0.0/8","dev":7}]', "7}", /route dev: found the number 7/);
    oneErrorAt('[{"dev":"eth0"}]', '{"dev"', /without "dst"/);
    oneErrorAt('[{"type":"bogus","dst":"10.0.0.0/8"}]', '"bogus"', /unknown route type/);
    oneErrorAt('[{"dst":"10.0.0.0/99","dev":"eth0"}]', '"10.0.0.0/99"', /destination/);
    oneErrorAt('[{"dst":"10.0.0.0/8","dev":"eth0","flags":"onlink"}]', '"onlink"', /route flags: found the string/);
  });
  it("a default route takes the family of the file's other routes; a multipath route its first next hop", () => {
    const r = read('[{"dst":"default","dev":"wg0"},{"dst":"fd00::/64","dev":"eth0"},{"dst":"fd01::/64","nexthops":[{"gateway":"fe80::1","dev":"eth1"},{"gateway":"fe80::2","dev":"eth2"}]}]');
    expect(r.diagnostics).toEqual([]);
    expect(r.facts.routes[0]).toMatchObject({ family: "ipv6", dst: "::", prefixLength: 0, dev: "wg0" });
    expect(r.facts.routes[2]).toMatchObject({ gateway: "fe80::1", dev: "eth1" });
  });
});

describe("text facts: sysctl, ip route, route -n", () => {
  it("sysctl: values of the sysctls netfate reads are checked; a line that is not KEY = VALUE is an error", () => {
    oneErrorAt("net.ipv4.ip_forward = banana\n", "banana", /net.ipv4.ip_forward = "banana"/);
    oneErrorAt("net.ipv4.ip_forward = 1\nnet.ipv4.ip_forward = 0\n", "0", /given twice with different values/);
    oneErrorAt("net.ipv4.ip_forward = 1\nthis is not sysctl output\n", "this", /not a sysctl line/);
    const r = read("net.ipv4.ip_forward = -1\nnet.ipv4.tcp_congestion_control = cubic\nsysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory\n");
    expect(r.facts.sysctl).toEqual({ "net.ipv4.ip_forward": "-1", "net.ipv4.tcp_congestion_control": "cubic" });
    expect(r.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
  });
  it("ip route: interface names and source addresses are checked; IPv6 default routes stay IPv6", () => {
    oneErrorAt("10.0.0.0/8 dev 0123456789abcdef\n", "0123456789abcdef", /at most 15/);
    oneErrorAt("10.0.0.0/8 dev eth0 src fd00::1\n", "fd00::1", /bad src/);
    const r = read("fd00::/64 dev eth0 proto kernel metric 256\ndefault dev wg0 metric 1024\n");
    expect(r.diagnostics).toEqual([]);
    expect(r.facts.routes[1]).toMatchObject({ family: "ipv6", dst: "::" });
  });
  it("route -n: each column checked at its column", () => {
    const head = "Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n";
    oneErrorAt(head + "999.0.0.0       0.0.0.0         255.0.0.0       U     0      0        0 eth0\n", "999.0.0.0", /bad destination/);
    oneErrorAt(head + "10.0.0.0        0.0.0.0         255.0.0.0       Z     0      0        0 eth0\n", "Z", /bad route flags/);
    oneErrorAt(head + "10.0.0.0        0.0.0.0         255.0.0.0       U     x      0        0 eth0\n", "x", /bad metric/);
    oneErrorAt(head + "10.0.0.0        0.0.0.0         255.0.0.0       U     0      0        0 0123456789abcdef\n", "0123456789abcdef", /at most 15/);
    const r = read(head + "10.0.0.0        -               255.0.0.0       !     0      -        0 -\n");
    expect(r.diagnostics).toEqual([]);
    expect(r.facts.routes[0]).toMatchObject({ type: "unreachable", dst: "10.0.0.0", prefixLength: 8 });
  });
});

describe("shortcuts name the flag and the argument", () => {
  const assemble = (shortcuts: Record<string, string[]>) => () => assembleInputs({ rules: [{ file: "r", text: RULES }], shortcuts });
  it("--iface, --local-addr, --route", () => {
    expect(assemble({ ifaces: ["0123456789abcdef=10.0.0.1/24"] })).toThrow(/--iface "0123456789abcdef=10.0.0.1\/24": .*at most 15/);
    expect(assemble({ ifaces: ["eth0"] })).toThrow(/--iface "eth0": expected NAME=ADDR\/LEN/);
    expect(assemble({ ifaces: ["eth0=10.0.0.1/40"] })).toThrow(/prefix length "40"/);
    expect(assemble({ localAddrs: ["10.0.0.1/24"] })).toThrow(/--local-addr "10.0.0.1\/24": an address, not a network/);
    expect(assemble({ localAddrs: ["banana"] })).toThrow(/--local-addr "banana"/);
    expect(assemble({ routes: ["10.0.0.0/8 dev eth0 bogus"] })).toThrow(/--route "10.0.0.0\/8 dev eth0 bogus": unknown word "bogus" in a route \(at column 21\)/);
  });
});

describe("located JSON", () => {
  it("places values and syntax errors where they are, and does not overflow on deep nesting", () => {
    const r = parseLocatedJson('{\n  "a": [1, "x\\n\\u0041"]\n}');
    expect(r.ok && r.value.kind === "object" && r.value.fields.get("a")!.value).toMatchObject({ kind: "array", at: 9, items: [{ kind: "number", value: 1, at: 10 }, { kind: "string", value: "x\nA", at: 13 }] });
    expect(parseLocatedJson('{"a": tru}')).toMatchObject({ ok: false, at: 6 });
    expect(parseLocatedJson('"a\\q"')).toMatchObject({ ok: false, at: 3, message: expect.stringMatching(/valid escape, found "q"/) });
    expect(parseLocatedJson("[".repeat(100000))).toMatchObject({ ok: false, message: expect.stringMatching(/nested deeper/) });
    for (const t of ["1", "-0.5e3", '"\\u00e9"', "[]", "{}", "[true,false,null]", '{"a":{"b":[]}}']) expect(parseLocatedJson(t), t).toEqual({ ok: true, value: expect.anything() });
    for (const t of ["", "01", "1.", "[1,]", '{"a":1,}', "{'a':1}", "NaN", '"a\tb"', "[1] x"]) expect(parseLocatedJson(t).ok, t).toBe(false);
  });
});

describe("the CLI", () => {
  it("--iface with a bad address is one line and exit 2", () => {
    const root = resolve(import.meta.dirname, "../..");
    const iface = spawnSync(process.execPath, [resolve(root, "dist/src/cli/main.js"), "trace", "--rules", "samples/host-firewall/rules.save", "--iface", "eth0=999.1.1.1/24", "tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0"], { cwd: root, encoding: "utf8" });
    expect(iface.status).toBe(2);
    expect(iface.stderr.trim().split("\n")).toEqual(['netfate: bad --iface "eth0=999.1.1.1/24": "999.1.1.1" is not an IPv4 or IPv6 address']);
  });
});
