/** The tunnel files of a collect bundle: WireGuard's secrets hidden, empty tables read as "none". */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COLLECTED, redactWireguardDump } from "../../src/cli/commands/collect.js";
import { MANIFEST, readBundle } from "../../src/cli/bundle.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { KEY_A, KEY_B, WG_DUMP } from "../support/tunnel-fixtures.js";

describe("collect's WireGuard dump", () => {
  it("hides the private and preshared keys, keeps everything else", () => {
    const printed = [`wg0\t${KEY_A}\t${KEY_B}\t51820\toff`, `wg0\t${KEY_B}\t${KEY_A}\t1.2.3.4:51820\t10.0.0.2/32\t0\t0\t0\toff`, `wg1\t(none)\t(none)\t0\toff`, ""].join("\n");
    expect(redactWireguardDump(printed)).toBe([`wg0\t(hidden)\t${KEY_B}\t51820\toff`, `wg0\t${KEY_B}\t(hidden)\t1.2.3.4:51820\t10.0.0.2/32\t0\t0\t0\toff`, `wg1\t(none)\t(none)\t0\toff`, ""].join("\n"));
    expect(COLLECTED.find((c) => c.file === "wg-dump.txt")).toMatchObject({ command: ["wg", "show", "all", "dump"], required: false });
  });
  it("what it writes reads back", () => {
    const { facts, diagnostics } = factsFromTexts([{ file: "wg-dump.txt", text: redactWireguardDump(WG_DUMP) }]);
    expect(diagnostics).toEqual([]);
    expect(facts.interfaces.find((i) => i.name === "wg0")?.tunnel?.wireguardPeers).toHaveLength(2);
  });
});

describe("a bundle's tunnel files", () => {
  it("are read by their names: an empty neighbour table, FDB or wg dump says none, without complaint", () => {
    const dir = mkdtempSync(join(tmpdir(), "netfate-tunnel-bundle-"));
    const files: Record<string, string> = {
      "iptables-save.txt": "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
      "ip-neigh.json": "[]\n",
      "bridge-fdb.json": "[]\n",
      "wg-dump.txt": "",
      "ip-link.json": '[{"ifindex": 4, "ifname": "flannel.1", "link_type": "ether", "address": "e2:7b:87:72:fa:7c", "linkinfo": {"info_kind": "vxlan", "info_data": {"id": 1, "local": "172.16.100.101", "link": "eth0", "port": 8472}}}]\n',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const entries = Object.entries(files).map(([file, text]) => ({ command: ["x"], exit: 0, file, bytes: Buffer.byteLength(text) }));
    writeFileSync(join(dir, MANIFEST), JSON.stringify({ format: "netfate-bundle", version: 1, collected: "now", entries }));
    const b = readBundle(dir, (p) => readFileSync(p, "utf8"));
    expect(b.node.map((t) => [t.file.slice(dir.length + 1), t.format])).toEqual([["ip-neigh.json", "ip-neigh-json"], ["bridge-fdb.json", "bridge-fdb-json"], ["ip-link.json", undefined]]);
    const { facts, diagnostics } = factsFromTexts(b.node);
    expect(diagnostics).toEqual([]);
    expect(facts).toMatchObject({ neighbours: [], fdb: [] });
    expect(facts.interfaces[0]).toMatchObject({ name: "flannel.1", kind: "vxlan", mac: "e2:7b:87:72:fa:7c", tunnel: { kind: "vxlan", vni: 1, port: 8472, local: "172.16.100.101", dev: "eth0" } });
  });
});
