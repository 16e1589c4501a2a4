/** The node `npm run bench` evaluates packets on (bench/run.ts and the per-packet comparison, bench/nft-packet.ts). */
import type { NodeView } from "../src/model/evaluation.js";

/** A node where every service endpoint is reached through cni0 and nothing is local. */
export const benchNode: NodeView = {
  known: true,
  addressType: () => "UNICAST",
  isLocal: () => false,
  routeInput: () => ({ kind: "unicast", dev: "cni0" }),
  routeOutput: () => ({ kind: "unicast", dev: "eth0", src: "192.168.0.11" }),
  reversePath: () => true,
  primaryAddress: () => "192.168.0.11",
  masqueradeAddress: () => "192.168.0.11",
  forwarding: () => true,
  tunnel: () => undefined,
  sysctl: () => undefined,
};
