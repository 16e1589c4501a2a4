/**
 * Stand-ins when the user gave no node facts or no ipsets: every question they would answer
 * is indeterminate, with a reason that says which input would settle it. Never a silent default.
 */
import type { IpsetView, NodeView } from "../model/evaluation.js";

const NO_NODE = "no node facts given (pass --node with ip -j addr / ip -j route output or a node.json)";

export const unknownNode: NodeView = {
  known: false,
  addressType: () => ({ indeterminate: NO_NODE }),
  isLocal: () => ({ indeterminate: NO_NODE }),
  routeInput: () => ({ kind: "indeterminate", reason: NO_NODE }),
  routeOutput: () => ({ kind: "indeterminate", reason: NO_NODE }),
  reversePath: () => ({ indeterminate: NO_NODE }),
  primaryAddress: () => undefined,
  masqueradeAddress: () => undefined,
  forwarding: () => ({ indeterminate: NO_NODE }),
  tunnel: () => undefined,
  decapsulator: () => undefined,
  sysctl: () => undefined,
};

export function noIpsets(): IpsetView {
  return {
    test: (name) => ({ indeterminate: `ipset ${name} not given (pass --ipsets with ipset save output)` }),
    add: () => {},
    del: () => {},
  };
}
