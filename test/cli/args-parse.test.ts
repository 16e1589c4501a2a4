/**
 * Reading the command line (src/cli/args.ts, on node:util.parseArgs): every form the commands
 * took before parseArgs keeps its meaning and its message, and the forms parseArgs adds
 * (`-vq`, `-rFILE`) read as it reads them.
 */
import { describe, expect, it } from "vitest";
import { parseArgs, type FlagSpec } from "../../src/cli/args.js";
import { main } from "../../src/cli/app.js";
import type { CommandIO } from "../../src/cli/io.js";

const SPECS: FlagSpec[] = [
  { name: "rules", short: "r", value: true, repeatable: true, help: "" },
  { name: "packet", short: "p", value: true, help: "" },
  { name: "limit", short: "l", value: true, help: "" },
  { name: "json", help: "" },
  { name: "verbose", short: "v", help: "" },
  { name: "quiet", short: "q", help: "" },
];

function read(argv: string[]) {
  const r = parseArgs(argv, SPECS);
  return { flags: Object.fromEntries(r.flags), positionals: r.positionals };
}

const refused = (argv: string[]) => () => parseArgs(argv, SPECS);

describe("parseArgs", () => {
  it("collects a repeatable option in order, in every spelling", () => {
    expect(read(["--rules=a", "--rules", "b", "-r", "c", "-rd", "x"])).toEqual({ flags: { rules: ["a", "b", "c", "d"] }, positionals: ["x"] });
  });

  it("refuses an option given twice that is not repeatable (parseArgs would keep the last)", () => {
    expect(refused(["--packet", "a", "--packet", "b"])).toThrow(/^--packet given twice$/);
    expect(refused(["-p", "a", "--packet=b"])).toThrow(/^--packet given twice$/);
    // A switch given twice is still on.
    expect(read(["-v", "--verbose"]).flags).toEqual({ verbose: true });
  });

  it("takes a negative number as a value, for the command to judge", () => {
    expect(read(["--limit", "-5"]).flags).toEqual({ limit: ["-5"] });
    expect(read(["-l", "-5"]).flags).toEqual({ limit: ["-5"] });
    expect(read(["--limit=-5"]).flags).toEqual({ limit: ["-5"] });
  });

  it("takes the next argument as the value whatever it looks like, - (stdin) included", () => {
    expect(read(["--rules", "--json"])).toEqual({ flags: { rules: ["--json"] }, positionals: [] });
    expect(read(["--rules", "-", "-"])).toEqual({ flags: { rules: ["-"] }, positionals: ["-"] });
    expect(read(["--rules="]).flags).toEqual({ rules: [""] });
  });

  it("reads everything after -- as positionals", () => {
    expect(read(["-v", "--", "--json", "-q", "-10"])).toEqual({ flags: { verbose: true }, positionals: ["--json", "-q", "-10"] });
  });

  it("says which option is unknown, with a suggestion for a long one", () => {
    expect(refused(["--jsn"])).toThrow(/^unknown option --jsn; did you mean --json\?$/);
    expect(refused(["--jsn=1"])).toThrow(/^unknown option --jsn; did you mean --json\?$/);
    expect(refused(["--zzzzzzzz"])).toThrow(/^unknown option --zzzzzzzz$/);
    expect(refused(["--constructor"])).toThrow(/^unknown option --constructor$/);
    expect(refused(["-z"])).toThrow(/^unknown option -z$/);
    expect(refused(["->"])).toThrow(/^unknown option ->$/);
  });

  it("refuses a value for a switch, and a missing value", () => {
    expect(refused(["--json=1"])).toThrow(/^--json takes no value$/);
    expect(refused(["--json="])).toThrow(/^--json takes no value$/);
    expect(refused(["x", "--rules"])).toThrow(/^--rules needs a value$/);
    expect(refused(["-r"])).toThrow(/^--rules needs a value$/);
  });

  it("stops at the first problem, in the order given", () => {
    expect(refused(["--bogus", "--rules"])).toThrow(/^unknown option --bogus$/);
    expect(refused(["--packet", "a", "--packet", "b", "--bogus"])).toThrow(/^--packet given twice$/);
  });

  it("reads short groups and attached values as parseArgs does, and says where an unknown letter came from", () => {
    expect(read(["-vq", "x"])).toEqual({ flags: { verbose: true, quiet: true }, positionals: ["x"] });
    expect(read(["-vrFILE"]).flags).toEqual({ verbose: true, rules: ["FILE"] });
    expect(refused(["-10"])).toThrow(/^unknown option -1 \(in -10; an argument that starts with - goes after --\)$/);
  });
});

describe("the commands' messages and exit codes over it", () => {
  async function run(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CommandIO = { out: (s) => void out.push(s), err: (s) => void err.push(s), readStdin: () => "", isTTY: false };
    const code = await main(argv, io);
    return { code, out: out.join(""), err: err.join("") };
  }

  it("a negative number reaches the command, which refuses it in its own words", async () => {
    expect(await run(["diff", "--limit", "-5", "a", "b"])).toEqual({ code: 2, out: "", err: "netfate: --limit takes a whole number, not -5\n" });
    expect(await run(["diff", "-l", "-3", "a", "b"])).toEqual({ code: 2, out: "", err: "netfate: --limit takes a whole number, not -3\n" });
    expect(await run(["diff", "--seed=-1", "a", "b"])).toEqual({ code: 2, out: "", err: "netfate: --seed takes a whole number, not -1\n" });
  });

  it("usage errors are one line and exit 2", async () => {
    expect(await run(["trace", "--jsn"])).toEqual({ code: 2, out: "", err: "netfate: unknown option --jsn; did you mean --json?\n" });
    expect(await run(["trace", "--packet", "a", "-p", "b"])).toEqual({ code: 2, out: "", err: "netfate: --packet given twice\n" });
    expect(await run(["parse", "--json=yes", "x"])).toEqual({ code: 2, out: "", err: "netfate: --json takes no value\n" });
    expect(await run(["batch", "--packets"])).toEqual({ code: 2, out: "", err: "netfate: --packets needs a value\n" });
  });
});
