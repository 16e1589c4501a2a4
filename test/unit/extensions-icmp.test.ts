/** -m icmp and -m icmp6 hooks: the ICMP types diff tries. */
import { describe, expect, it } from "vitest";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m icmp / -m icmp6 hooks", () => {
  it("diff tries the type an --icmp-type names", () => {
    const d = dropDifferences("-p icmp -m icmp --icmp-type timestamp-request");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.proto === 1 && p.icmpType === 13)).toBe(true);
  });
  it("and the type an --icmpv6-type names", () => {
    const d = dropDifferences("-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation", { family: "ipv6" });
    expect(d.some((p) => p.proto === 58 && p.icmpType === 135)).toBe(true);
  });
  it("a negated type is met by the type after it", () => {
    const d = dropDifferences("-p icmp -m icmp ! --icmp-type echo-request");
    expect(d.some((p) => p.icmpType === 9)).toBe(true);
    expect(d.some((p) => p.icmpType === 8)).toBe(false);
  });
});
