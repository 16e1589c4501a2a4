/**
 * The virtual server table back in `ipvsadm-save -n` form, as ipvsadm writes it
 * (ipvsadm.c print_service_entry / print_dest_entry with FMT_RULE): what `ipvsadm-restore`
 * reads. What the input did not show (a `--stats` listing's scheduler, method or weight) is
 * not invented: the line says so in a comment and leaves the option out.
 */
import { ipvsEndpoint, type IpvsForward, type IpvsRealServer, type IpvsService, type IpvsTable } from "../model/ipvs.js";

/** `-m`, `-g`, `-i`: ipvsadm-save writes the local method as `-g` too (fwd_switch), the kernel deciding Local from the address. */
const FORWARD_OPTION: Readonly<Record<IpvsForward, string>> = { masq: "-m", route: "-g", tunnel: "-i", local: "-g" };

/** The `-t VIP:PORT` / `-f MARK` part that names a service. */
export function ipvsServiceOption(s: IpvsService): string {
  if (s.key.kind === "fwmark") return `-f ${s.key.mark}${s.family === "ipv6" ? " -6" : ""}`;
  const opt = s.key.protocol === "tcp" ? "-t" : s.key.protocol === "udp" ? "-u" : "--sctp-service";
  return `${opt} ${ipvsEndpoint(s.key.address, s.key.port, s.family)}`;
}

/** In ipvsadm's order (ipvsadm.c print_service_entry, FMT_RULE): -s, -p, -M, --pe, -o, -b. */
export function ipvsServiceLine(s: IpvsService): string {
  const w = [`-A ${ipvsServiceOption(s)}`];
  if (s.scheduler !== undefined) w.push(`-s ${s.scheduler}`);
  if (s.persistent !== undefined) w.push(`-p ${s.persistent}`);
  if (s.netmask !== undefined) w.push(`-M ${s.netmask}`);
  if (s.persistenceEngine !== undefined) w.push(`--pe ${s.persistenceEngine}`);
  if (s.onePacket) w.push("-o");
  if (s.schedulerFlags.length) w.push(`-b ${s.schedulerFlags.join(",")}`);
  return w.join(" ");
}

export function ipvsServerLine(s: IpvsService, r: IpvsRealServer): string {
  const w = [`-a ${ipvsServiceOption(s)} -r ${ipvsEndpoint(r.address, r.port, r.address.includes(":") ? "ipv6" : "ipv4")}`];
  if (r.forward !== undefined) w.push(FORWARD_OPTION[r.forward]);
  if (r.weight !== undefined) w.push(`-w ${r.weight}`);
  if (r.upperThreshold !== undefined) w.push(`-x ${r.upperThreshold}`);
  if (r.lowerThreshold !== undefined) w.push(`-y ${r.lowerThreshold}`);
  return w.join(" ");
}

/** What a line leaves out because the input did not show it. */
function unshown(missing: string[]): string[] {
  return missing.length ? [`# not shown by the input: ${missing.join(", ")}`] : [];
}

export function ipvsSaveText(t: IpvsTable): string {
  // The servers are printed in the order they were read: say so when that is the kernel's.
  const out: string[] = t.kernelOrder ? ["# ipvsadm -S -n --nosort: real servers in the kernel's order"] : [];
  for (const s of t.services) {
    out.push(...unshown(s.scheduler === undefined ? ["scheduler (-s)"] : []), ipvsServiceLine(s));
    for (const r of s.servers) {
      out.push(...unshown([...(r.forward === undefined ? ["forwarding method"] : []), ...(r.weight === undefined ? ["weight (-w)"] : [])]), ipvsServerLine(s, r));
    }
  }
  return out.map((l) => l + "\n").join("");
}
