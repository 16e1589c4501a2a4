/**
 * The flags that make a trace, why-dropped or batch a cluster one, apart from the cluster
 * evaluator they lead to (cluster-trace.ts): the commands read them on every run, and load the
 * cluster code only when a cluster is asked for.
 */
import { flagSet, flagValue, type FlagSpec, type ParsedArgs } from "../args.js";

export const CLUSTER_FLAGS: FlagSpec[] = [
  { name: "cluster", value: true, help: "a cluster: a directory with one sub-directory (collect bundle) per node and a pods.txt, or a cluster.json" },
  { name: "at", value: true, help: "where the packet starts in the cluster: a node, a pod (NODE/POD when two share a name) or an address one holds" },
  { name: "reply", help: "also follow each outcome's reply back to the sender, through every node's own conntrack entry (why-dropped on a cluster always does)" },
];

/** Whether the command is a cluster one (the input is a cluster, or the reply is asked for). */
export function wantsCluster(args: ParsedArgs): boolean {
  return flagValue(args, "cluster") !== undefined || flagSet(args, "reply");
}
