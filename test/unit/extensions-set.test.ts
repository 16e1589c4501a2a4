/** -m set's hook: diff tries the members of the set it names, in the directions its flags say. */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

const sets = "create blocked hash:ip,port family inet\nadd blocked 10.7.7.7,tcp:2222\n";

describe("-m set hooks", () => {
  it("diff tries a member as source address and destination port", () => {
    const d = dropDifferences("-m set --match-set blocked src,dst", { ipsets: sets });
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.src === "10.7.7.7" && p.dport === 2222)).toBe(true);
  });
  it("the flags say which address and port the member is", () => {
    const d = dropDifferences("-m set --match-set local dst,src", { ipsets: "create local hash:ip,port family inet\nadd local 192.168.0.11,tcp:2222\n" });
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.dst === "192.168.0.11" && p.sport === 2222)).toBe(true);
  });
});
