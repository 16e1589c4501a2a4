/**
 * A listing does not say its table. Without --table it is inferred from the built-in chains
 * it lists, then from its targets and chain names, and the guess is reported. The target is
 * the column after the rule number and the counters: with -v or --line-numbers the first
 * word of a row is a count, not a target.
 */
import { describe, expect, it } from "vitest";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { parseListing } from "../../src/syntax/listing.js";
import type { TableName } from "../../src/model/ast.js";

function inferred(text: string, table?: TableName): { table: string | undefined; info: string[] } {
  const sink = new DiagnosticSink("l");
  const rs = parseListing(text, sink, table ? { table } : {});
  expect(sink.items.filter((d) => d.severity !== "info")).toEqual([]);
  return { table: rs.tables[0]?.name, info: sink.items.filter((d) => d.severity === "info").map((d) => d.message) };
}

// Docker's DOCKER chain of the nat table, alone, as each listing prints it.
const DOCKER_NAT = {
  nL: [
    "Chain DOCKER (2 references)",
    "target     prot opt source               destination",
    "DNAT       6    --  0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:172.17.0.2:80",
  ],
  nvL: [
    "Chain DOCKER (2 references)",
    " pkts bytes target     prot opt in     out     source               destination",
    "    3   180 DNAT       6    --  !docker0 *       0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:172.17.0.2:80",
  ],
  "nvxL --line-numbers": [
    "Chain DOCKER (2 references)",
    "num      pkts      bytes target     prot opt in     out     source               destination",
    "1           3      180 DNAT       6    --  !docker0 *       0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:172.17.0.2:80",
  ],
  "nL --line-numbers": [
    "Chain DOCKER (2 references)",
    "num  target     prot opt source               destination",
    "1    DNAT       6    --  0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:172.17.0.2:80",
  ],
};

describe("the table of a listing", () => {
  for (const [kind, lines] of Object.entries(DOCKER_NAT)) {
    it(`is nat for a DNAT rule listed with -${kind}`, () => {
      const r = inferred(lines.join("\n") + "\n");
      expect(r.table).toBe("nat");
      expect(r.info).toEqual(["table inferred as nat (uses -j DNAT); give --table to say which"]);
    });
  }

  it("follows the built-in chains listed", () => {
    const chains = (...names: string[]) => names.map((n) => `Chain ${n} (policy ACCEPT)\ntarget     prot opt source               destination\n`).join("\n");
    expect(inferred(chains("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")).table).toBe("mangle");
    expect(inferred(chains("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")).table).toBe("nat");
    expect(inferred(chains("PREROUTING", "OUTPUT")).table).toBe("raw");
    expect(inferred(chains("INPUT", "FORWARD", "OUTPUT")).table).toBe("filter");
  });

  it("is the one given, without a guess reported", () => {
    expect(inferred(DOCKER_NAT.nvL.join("\n") + "\n", "mangle")).toEqual({ table: "mangle", info: [] });
  });
});
