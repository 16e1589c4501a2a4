/**
 * `HOST/N` with N above 32 in the option parser's host-and-mask type (conntrack's addresses,
 * NETMAP --to): iptables 1.8.9 takes it and loads /32, having read N as a mask address
 * (0.0.0.33) and kept only whole prefixes; later versions keep that mask. The input does not
 * say which version loaded it, so netfate refuses it and says both. Asked of iptables here, so
 * that a newer iptables on the machine shows up as a failing test, not as a stale message.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { inNamespace, kernelSkipReason } from "./harness.js";

const why = kernelSkipReason();
const NS = `nfmask${process.pid}`;

function loadedAs(table: string, line: string): string {
  const text = `*${table}\n${line}\nCOMMIT\n`;
  const r = spawnSync("ip", ["netns", "exec", NS, "iptables-restore"], { input: text, encoding: "utf8" });
  const saved = r.status === 0 ? spawnSync("ip", ["netns", "exec", NS, "iptables-save", "-t", table], { encoding: "utf8" }).stdout : "";
  spawnSync("ip", ["netns", "exec", NS, "iptables", "-t", table, "-F"]);
  return r.status === 0 ? saved.split("\n").filter((l) => l.startsWith("-A ")).join("\n") : "refused";
}

function netfateErrors(table: string, line: string): string[] {
  return parseRules(`*${table}\n${line}\nCOMMIT\n`).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

describe.skipIf(why !== undefined)(`a prefix length above 32 in a host-and-mask option${why ? ` (skipped: ${why})` : ""}`, () => {
  inNamespace(NS);

  it.each([
    ["filter", "-A INPUT -m conntrack --ctorigdst 1.2.3.4/33 -j ACCEPT", "-A INPUT -m conntrack --ctorigdst 1.2.3.4 -j ACCEPT", "0.0.0.33"],
    ["filter", "-A INPUT -m conntrack --ctreplsrc 1.2.3.4/0x100 -j ACCEPT", "-A INPUT -m conntrack --ctreplsrc 1.2.3.4 -j ACCEPT", "0.0.1.0"],
    ["nat", "-A PREROUTING -j NETMAP --to 10.0.0.0/33", "-A PREROUTING -j NETMAP --to 10.0.0.0/32", "0.0.0.33"],
  ])("%s: %s", (table, line, kernel, mask) => {
    expect(loadedAs(table, line)).toBe(kernel);
    expect(netfateErrors(table, line)).toEqual([expect.stringMatching(new RegExp(`1\\.8\\.9 loads it as /32, later versions as the mask ${mask.replace(/\./g, "\\.")}`))]);
  });

  it("a prefix length up to 32, and a dotted mask, are read as before", () => {
    expect(loadedAs("filter", "-A INPUT -m conntrack --ctorigdst 1.2.3.4/010 -j ACCEPT")).toBe("-A INPUT -m conntrack --ctorigdst 1.2.3.4/8 -j ACCEPT");
    expect(netfateErrors("filter", "-A INPUT -m conntrack --ctorigdst 1.2.3.4/010 -j ACCEPT")).toEqual([]);
    expect(netfateErrors("filter", "-A INPUT -m conntrack --ctorigdst 1.2.3.4/255.255.0.0 -j ACCEPT")).toEqual([]);
  });
});
