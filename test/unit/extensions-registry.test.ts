/** What the registry answers for the extensions: conntrack users, table limits, the extension a node was bound by. */
import { describe, expect, it } from "vitest";
import { boundMatch, boundTarget, matchNeedsConntrack, MATCHES, tablesAllowing, targetNeedsConntrack, TARGETS } from "../../src/extensions/registry.js";
import { conntrackActive, dump } from "../support/extension-hooks.js";

describe("extension registry", () => {
  it("knows which extensions make the kernel enable conntrack (those netfate does not implement too)", () => {
    const matches = [...MATCHES.map((m) => m.name), "helper", "cluster", "ipvs", "limit"].filter(matchNeedsConntrack).sort();
    expect(matches).toEqual(["cluster", "connbytes", "connlabel", "connlimit", "connmark", "conntrack", "helper", "ipvs", "state"]);
    const targets = [...TARGETS.map((t) => t.name), "SYNPROXY"].filter((t) => targetNeedsConntrack(t) === true).sort();
    expect(targets).toEqual(["CONNMARK", "CONNSECMARK", "DNAT", "MASQUERADE", "NETMAP", "REDIRECT", "SNAT", "SYNPROXY"]);
    // CT's options decide (--notrack takes none); NOTRACK takes none (xt_ct_tg_check returns first).
    expect(targetNeedsConntrack("CT")).toBe("depends");
    expect(targetNeedsConntrack("NOTRACK")).toBe(false);
  });
  it("a dump enables conntrack when one of its rules needs it, wherever the rule is", () => {
    expect(conntrackActive("filter", ["-A INPUT -p tcp -j LOG"])).toBe(false);
    expect(conntrackActive("filter", ["-A INPUT -m state --state NEW -j ACCEPT"])).toBe(true);
    expect(conntrackActive("filter", ["-A INPUT -m connmark --mark 1 -j ACCEPT"])).toBe(true);
    expect(conntrackActive("nat", ["-A POSTROUTING -o eth0 -j MASQUERADE"])).toBe(true);
    // Measured in test/kernel/cluster.test.ts: NOTRACK and CT --notrack alone track nothing.
    expect(conntrackActive("raw", ["-A PREROUTING -j NOTRACK"])).toBe(false);
    expect(conntrackActive("raw", ["-A PREROUTING -j CT --notrack"])).toBe(false);
    expect(conntrackActive("raw", ["-A PREROUTING -j CT --notrack", "-A OUTPUT -j CT --zone 1"])).toBe(true);
    expect(conntrackActive("mangle", ["-A PREROUTING -j CONNMARK --restore-mark"])).toBe(true);
  });
  it("says which tables a target is limited to", () => {
    expect(tablesAllowing("DNAT")).toEqual(["nat"]);
    expect(tablesAllowing("CONNSECMARK")).toEqual(["mangle", "security"]);
    expect(tablesAllowing("LOG")).toBeUndefined();
    expect(tablesAllowing("NOSUCH")).toBeUndefined();
  });
  it("finds the extension a node was bound by, by its own name", () => {
    const rule = dump("nat", ["-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1"]).tables[0]!.chains[0]!.rules.load()[0]!;
    const m = rule.matches[0]!;
    const t = rule.target!;
    expect(m.kind === "match" && boundMatch(m)?.name).toBe("tcp");
    expect(t.kind === "target" && boundTarget(t)?.name).toBe("DNAT");
  });
});
