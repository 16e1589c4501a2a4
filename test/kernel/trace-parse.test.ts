/** Reading xtables-monitor --trace output: which lines belong to which injected packet. */
import { describe, expect, it } from "vitest";
import { kernelFate, parseTrace } from "./harness.js";

const packet = (traceId: string, ipId: number, hook: string) =>
  `PACKET: 2 ${traceId} IN=veth1 OUT=${hook === "FORWARD" ? "eth0" : ""} SRC=10.9.0.2 DST=8.8.8.8 LEN=36 TOS=0x0 TTL=64 ID=${ipId} PROTO=ICMP`;

describe("parseTrace", () => {
  it("separates two packets whose skbs got the same trace id", () => {
    const text = [
      packet("6d2ea5a0", 1000, "FORWARD"),
      " TRACE: 2 6d2ea5a0 filter:FORWARD:policy:ACCEPT",
      packet("6d2ea5a0", 1001, "FORWARD"),
      " TRACE: 2 6d2ea5a0 filter:FORWARD:policy:ACCEPT",
    ].join("\n");
    const t = parseTrace(text, new Map());
    expect(t.get(1000)?.steps).toEqual([{ table: "filter", chain: "FORWARD", rule: "policy", verdict: "ACCEPT" }]);
    expect(t.get(1001)?.steps).toEqual([{ table: "filter", chain: "FORWARD", rule: "policy", verdict: "ACCEPT" }]);
  });

  it("joins a packet's path across a new trace id when it keeps its IP ID (looped through lo)", () => {
    const text = [
      packet("aaaa0001", 1002, "OUTPUT"),
      " TRACE: 2 aaaa0001 filter:OUTPUT:policy:ACCEPT",
      packet("bbbb0002", 1002, "INPUT"),
      " TRACE: 2 bbbb0002 filter:INPUT:policy:DROP",
    ].join("\n");
    expect(parseTrace(text, new Map()).get(1002)?.steps.map((s) => `${s.chain} ${s.verdict}`)).toEqual(["OUTPUT ACCEPT", "INPUT DROP"]);
  });
});

describe("kernelFate", () => {
  const trace = (hooks: string[], lastOut?: string) => ({ id: 1, steps: [], hooks, ...(lastOut ? { lastOut } : {}) });
  it("reads delivered, out of an interface, and a packet that looped through lo and stopped", () => {
    expect(kernelFate(trace(["output", "postrouting", "input"], "lo"))).toEqual({ kind: "delivered" });
    expect(kernelFate(trace(["forward", "postrouting"], "cni0"))).toEqual({ kind: "out", iface: "cni0" });
    expect(kernelFate(trace(["output", "postrouting"], "lo"))).toEqual({ kind: "stopped" });
    expect(kernelFate(trace([]))).toEqual({ kind: "stopped" });
  });
});
