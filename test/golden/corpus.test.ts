/**
 * Every real dump in ../shared/corpus (see its SOURCES.md) is read with format detection.
 * Each must parse without an error, or be listed below with the first error netfate gives
 * for it and why the file itself is damaged. Every diagnostic must point inside the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readInput } from "../../src/inputs.js";
import type { Diagnostic } from "../../src/model/diagnostics.js";
import { sharedNotice, sharedPath } from "../support/shared.js";

interface Damaged {
  /** The first error reported, as `line:col: message`. */
  error: string;
  /** The damage, as SOURCES.md describes it. */
  reason: string;
}

const DAMAGED: Record<string, Damaged> = {
  "issue/canal-31-ufw-track.L.txt": { error: "24:2: cannot find the prot and opt columns", reason: "starts mid-listing; truncated in header line" },
  "issue/ciliumcli-673-firewalld.nL.txt": { error: "2:1: rule line outside any chain", reason: "starts mid-chain (no Chain header for first rules); truncated" },
  "issue/crowdsec-46-ufw-docker-matchset.L.txt": { error: "29:1: cannot find the prot and opt columns", reason: "truncated (the last column header is cut to `ta`)" },
  "issue/k3s-7096-noselasd-nat.nvL.txt": { error: "25:6: expected packet and byte counters", reason: "truncated in KUBE-MARK-DROP" },
  "issue/k8s-130234-flannel-ipvs.mixed.txt": { error: "26:1: chain header not understood", reason: "truncated (mid chain header `Chain KUBE-FIR`)" },
  "issue/k8s-39658-ravishivt-canal.L.txt": { error: "2:5: rule line outside any chain", reason: "starts mid-chain; truncated inside KUBE-SERVICES" },
  "issue/k8s-39658-ravishivt-ufw.L.txt": { error: "2:5: rule line outside any chain", reason: "starts mid-chain; truncated" },
  "issue/k8s-45459-backtick-mcast-name.L.txt": { error: "28:1: cannot find the prot and opt columns", reason: "truncated (last line is a bare `Chain`)" },
  "issue/k8s-71305-nft-dup-firewall.nvL.txt": { error: "6:34: bad source address", reason: "truncated mid-rule" },
  "issue/kubeproxy-13-ipvs-ipv6.ipset-list.txt": { error: "69:1: family needs a value", reason: "excerpt truncated mid-header (`Header: family`)" },
  "issue/kuberouter-pr618-ipset-list-and-S.mixed.txt": {
    error: "18:1: cannot parse XXX.XXX.174.108: resolving to IPv4 address failed",
    reason: "an anonymised member (XXX.XXX.174.108), which ipset restore refuses; also truncated mid-rule (58:91)",
  },
  "issue/sealos-2108-kube-cluster-ip.ipset-list.txt": { error: "64:1: Second element is missing from 10..", reason: "truncated mid-member (`10.`)" },
  "issue/omr-763-ip6tables-shorewall.mixed.txt": { error: "29:1: cannot find the prot and opt columns", reason: "truncated (the last row is cut after its prot column)" },
  "issue/mailcow-6932-ip6-ufw6.nvL.txt": { error: "28:1: chain header not understood", reason: "truncated (mid chain header)" },
  "repo-fixture/diekmann-parser-test.save.txt": {
    error: "12:55: unknown option --something-else",
    reason: "hand-built parser test: multiport has no --something-else; iptables-restore 1.8.9 rejects the line too",
  },
  "issue/cilium-5384-ci-nodeport.mixed.txt": { error: "26:1: table nat has no COMMIT", reason: "truncated in nat chain list" },
  "issue/egressgw-1536-json-escaped.mixed.txt": {
    error: "2:1: expected a command at the start of the line",
    reason: 'a hard line break splits "KUBE-SERV" / "ICES" mid-token; starts and ends mid-rule',
  },
  "issue/felix-1116-kube-services-probabilities.save.txt": { error: "11:41: --c needs a value", reason: "truncated mid-rule (`--comment` cut to `--c`)" },
  "issue/felix-1421-commented-out.mixed.txt": { error: "4:5: COMMIT outside a table", reason: "excerpt starts inside the nat table (its *nat line is not in it)" },
  "issue/ipv6nat-33-xtables-save.save.txt": { error: "5:1: table filter has no COMMIT", reason: "truncated mid-rule" },
  "issue/k3s-3373-kuberouter-netpol.save.txt": { error: "8:59: unterminated quoted string", reason: "rules fragment, truncated mid-rule" },
  "issue/k8s-36652-journald-restore-input.mixed.txt": {
    error: "8:45: COMMIT outside a table",
    reason: "log excerpt of an iptables-restore payload whose *nat line is not in it",
  },
  "issue/k8s-54203-ipvs-prototype-node.mixed.txt": { error: "22:4: chain declaration needs a policy", reason: "truncated in nat chain declarations" },
  "issue/k8s-61005-eightlimbed-nat.mixed.txt": { error: "32:52: -j needs a value", reason: "excerpt truncated mid-rule; no COMMIT" },
  "issue/k8s-61005-zacekjakub-calico-filter.save.txt": { error: "43:23: chain declaration needs a policy", reason: "chain declarations only, truncated mid-name" },
  "issue/k8s-66454-bamb00-tab-indented.save.txt": { error: "31:20: bad address for -s", reason: "truncated mid-rule" },
  "issue/k8s-pr75893-split-token.save.txt": {
    error: "33:1: expected a command at the start of the line",
    reason: 'hard line break inside a token: "-j S" / "NAT --to-source 10.255.161.226"',
  },
  "issue/kilo-128-node1.mixed.txt": { error: "38:23: unexpected argument", reason: "truncated mid-rule" },
  "issue/kuberouter-1069-xtables-save-mixed-backends.save.txt": { error: "38:10: chain declaration needs a policy", reason: "truncated in nat chain list" },
  "issue/kuberouter-1136-input-order.mixed.txt": { error: "7:60: unterminated quoted string", reason: "truncated mid-rule" },
  "issue/kuberouter-1256-double-chain-counters.mixed.txt": {
    error: "16:26: unexpected text after the chain counters",
    reason: 'broken input generated by a kube-router bug: two counter groups ":INPUT ACCEPT [58:48907] - [0:0]"',
  },
  "issue/microk8s-3108-nft-vs-legacy.mixed.txt": { error: "46:36: unterminated quoted string", reason: "second dump truncated" },
  "issue/moby-49518-nft-189.save.txt": { error: "30:98: chain A is not declared before this line in table filter: iptables-restore refuses it (only --noflush onto a kernel that has the chain would take it)", reason: "truncated mid-rule (`-j A` is a chain name cut short)" },
  "issue/vpccni-34-calico-filter.save.txt": { error: "7:1: COMMIT outside a table", reason: "starts with the nat table's tail (no *nat line)" },
  "issue/weave-3213-npc-forward.save.txt": { error: "19:18: -d needs a value", reason: "fragment of filter rules, truncated" },
  "issue/weave-3392-physdev-externalip.save.txt": { error: "9:67: unterminated quoted string", reason: "rules fragment, truncated" },
  "issue/weave-3452-npc-escaped-quote.mixed.txt": { error: "31:38: chain WEAVE-N is not declared before this line in table filter: iptables-restore refuses it (only --noflush onto a kernel that has the chain would take it)", reason: "truncated (`-j WEAVE-N` is a chain name cut short)" },
  "issue/weave-3599-nat-prompt.mixed.txt": { error: "4:1: table nat has no COMMIT", reason: "truncated mid-chain-name" },
  "issue/weave-3743-firewalld-weave-npc.save.txt": { error: "43:58: unterminated quoted string", reason: "truncated mid-rule after chain declarations" },
};

const CORPUS = sharedPath("corpus");
const present = existsSync(CORPUS);

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

const files = present ? walk(CORPUS).map((p) => relative(CORPUS, p)).filter((f) => f !== "SOURCES.md") : [];

/** The first error in the order netfate reports them (reading order; end-of-input ones last). */
function firstError(ds: Diagnostic[]): Diagnostic | undefined {
  return ds.find((d) => d.severity === "error");
}

if (!present) {
  describe("corpus of real dumps", () => {
    it.skip(sharedNotice("corpus"), () => {});
  });
} else describe("corpus of real dumps", () => {
  it.each(files)("%s", (file) => {
    const text = readFileSync(join(CORPUS, file), "utf8");
    const lines = text.split("\n");
    if (text.endsWith("\n")) lines.pop();
    let res: ReturnType<typeof readInput> | undefined;
    expect(() => (res = readInput(text, { file }))).not.toThrow();
    for (const d of res!.diagnostics) {
      const where = `${d.line}:${d.col}: ${d.message}`;
      expect(d.line, where).toBeGreaterThanOrEqual(1);
      expect(d.line, where).toBeLessThanOrEqual(Math.max(1, lines.length));
      expect(d.col, where).toBeGreaterThanOrEqual(1);
      expect(d.col, where).toBeLessThanOrEqual((lines[d.line - 1] ?? "").length + 1);
      expect(d.file).toBe(file);
    }
    const first = firstError(res!.diagnostics);
    const got = first ? `${first.line}:${first.col}: ${first.message}` : undefined;
    expect(got, res!.formatNote).toBe(DAMAGED[file]?.error);
  });

  it("lists only files that exist", () => {
    expect(Object.keys(DAMAGED).filter((f) => !files.includes(f))).toEqual([]);
  });
});
