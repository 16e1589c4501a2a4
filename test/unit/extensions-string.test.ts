/** -m string: options as iptables 1.8.9 binds them, both printings (checked in a netns), evaluation. */
import { describe, expect, it } from "vitest";
import { bindErrors, printed } from "../support/extension-roundtrip.js";
import { parseHexString } from "../../src/extensions/matches/string.js";
import { ruleDrops } from "../support/rule-verdict.js";
import { simpleNode } from "../support/simple-node.js";

describe("-m string", () => {
  it("saves --string before --algo, always quoted, defaults left out", () => {
    const p = printed("-m string --algo kmp --string evil --from 40 --to 200", "string");
    expect(p.save).toBe(' -m string --string "evil" --algo kmp --from 40 --to 200');
    expect(p.L.endsWith('STRING match  "evil" ALGO name kmp FROM 40 TO 200')).toBe(true);
    expect(printed("-m string --string x --algo bm --from 0 --to 65535", "string").save).toBe(' -m string --string "x" --algo bm');
  });
  it("prints the stored bytes: hex when one is not printable or the last is a backslash, text otherwise", () => {
    expect(printed('-m string --hex-string "|00 01|abc|ff|" --algo bm', "string").save).toBe(' -m string --hex-string "|0001616263ff|" --algo bm');
    expect(printed('-m string --hex-string "|41|BC" --algo kmp', "string").save).toBe(' -m string --string "ABC" --algo kmp');
    expect(printed('-m string --string "x\\\\" --algo bm', "string").save).toBe(' -m string --hex-string "|785c|" --algo bm');
    expect(printed('-m string --string "it\'s" --algo bm', "string").save).toBe(' -m string --string "it\'s" --algo bm');
    expect(printed('-m string --string "a\\"b\\\\c" --algo bm', "string").save).toBe(' -m string --string "a\\"b\\\\c" --algo bm');
  });
  it("negation and --icase in both printings", () => {
    const p = printed("-m string ! --string x --algo bm --icase", "string");
    expect(p.save).toBe(' -m string ! --string "x" --algo bm --icase');
    expect(p.L.endsWith('STRING match ! "x" ALGO name bm ICASE')).toBe(true);
  });
  it("reads --hex-string as iptables does, with its errors", () => {
    expect(parseHexString("|00 01|abc|ff|")).toEqual([0, 1, 0x61, 0x62, 0x63, 0xff]);
    expect(parseHexString("a\\|b")).toEqual([0x61, 0x7c, 0x62]);
    expect(parseHexString("|0|")).toBe("Invalid hex block");
    expect(parseHexString("|0g|")).toBe("Invalid hex char 'g'");
    expect(parseHexString("|41\\41|")).toBe("Cannot include literals in hex data");
    // Right after a `|` the character is read as hex, whatever it is (as iptables does).
    expect(parseHexString("|\\41|")).toBe("Invalid hex char '\\'");
    expect(parseHexString("")).toBe("STRING must contain at least one char");
  });
  it("refuses what iptables or the kernel refuses", () => {
    expect(bindErrors("-m string --string x")).toEqual(["string: --algo is required"]);
    expect(bindErrors("-m string --algo bm")[0]).toMatch(/must specify `--string' or `--hex-string'/);
    expect(bindErrors("-m string --string x --hex-string 41 --algo bm")[0]).toMatch(/cannot be used together/);
    expect(bindErrors("-m string --string x --algo foo")[0]).toMatch(/no such search algorithm/);
    expect(bindErrors(`-m string --string ${"a".repeat(129)} --algo bm`)[0]).toMatch(/STRING too long/);
    expect(bindErrors("-m string --string x --algo bm --from 10 --to 5")[0]).toMatch(/--from is after --to/);
    expect(bindErrors("-m string --string x --algo bm --to 65536")[0]).toMatch(/bad value for --to/);
    expect(bindErrors('-m string --string "" --algo bm')[0]).toMatch(/the pattern is empty/);
    expect(bindErrors('-m string --hex-string "|" --algo bm')[0]).toMatch(/the pattern is empty/);
    expect(bindErrors('-m string --hex-string "||" --algo bm')[0]).toMatch(/Odd number of hex digits/);
  });
  it("is indeterminate: the packet has no payload", () => {
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    const packet = { family: "ipv4" as const, from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };
    expect(ruleDrops({ spec: "-m string --string GET --algo bm", packet, node })).toBe("indeterminate");
  });
});
