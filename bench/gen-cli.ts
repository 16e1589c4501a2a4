/** `node dist/bench/gen-cli.js SERVICES > dump.save`: writes a generated kube-proxy dump. */
import { kubeProxyDump } from "./gen-kube-proxy.js";

const n = Number(process.argv[2] ?? "10000");
process.stdout.write(kubeProxyDump({ services: n }));
