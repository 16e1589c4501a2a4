/**
 * A file straight from iptables-save or ipset save skips the extractor (inputs.ts): its result
 * must be what parsing it with its format given is, and any line that could be prose must
 * send the text to the extractor instead.
 */
import { describe, expect, it } from "vitest";
import { readInput } from "../../src/inputs.js";

const IPSET = [
  "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536",
  "add KUBE-CLUSTER-IP 10.96.0.1,tcp:443",
  "# written by hand",
  "",
  "create NETS hash:net family inet hashsize 1024 maxelem 65536",
  "add NETS 10.0.0.0/8 nomatch",
  "add NETS 192.168.0.0/16 timeout 300 comment \"lan\"",
  "",
].join("\n");

describe("bare dumps skip the extractor", () => {
  it("an ipset save, also with CRLF line ends, reads as with --format ipset-save", () => {
    for (const text of [IPSET, IPSET.replace(/\n/g, "\r\n")]) {
      const auto = readInput(text, { file: "sets.txt", format: "auto" });
      const given = readInput(text, { file: "sets.txt", format: "ipset-save" });
      expect(auto.formatNote).toMatch(/^format ipset-save \(detected: /);
      expect(auto.diagnostics).toEqual([]);
      expect(auto.input).toEqual(given.input);
      expect(auto.input.kind === "sets" ? auto.input.sets.sets.map((s) => [s.name, s.entries.length]) : []).toEqual([["KUBE-CLUSTER-IP", 1], ["NETS", 2]]);
    }
  });

  it("an ipset save with a line of prose goes to the extractor, which sets the prose aside", () => {
    const text = `here are the sets on the node:\n${IPSET}`;
    const r = readInput(text, { file: "issue.md", format: "auto" });
    expect(r.input.kind).toBe("mixed");
    const blocks = r.input.kind === "mixed" ? r.input.blocks : [];
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks[0]!.firstLine).toBe(2);
    expect(blocks.every((b) => b.format === "ipset-save")).toBe(true);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("an iptables-save reads as with --format save, and prose sends it to the extractor", () => {
    const save = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    const auto = readInput(save, { file: "r", format: "auto" });
    expect(auto.formatNote).toMatch(/^format save \(detected: /);
    expect(auto.input).toEqual(readInput(save, { file: "r", format: "save" }).input);
    expect(readInput(`Output:\n${save}`, { file: "r", format: "auto" }).input.kind).toBe("mixed");
  });
});
