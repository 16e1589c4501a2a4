/**
 * IPVS, as `ipvsadm -Ln` and `ipvsadm-save -n` show it: virtual services (a protocol, address
 * and port, or a firewall mark), each with its scheduler, flags and real servers. What a
 * listing does not show (`ipvsadm -Ln --stats` prints no scheduler, method or weight) is
 * absent here, never filled in: the evaluator says it cannot tell.
 */
import type { Family } from "./ast.js";
import type { Span } from "./span.js";

export type IpvsProtocol = "tcp" | "udp" | "sctp";

/**
 * How a real server is reached (the kernel's IP_VS_CONN_F_FWD_MASK): masquerading (NAT of
 * the destination), direct routing, IP-in-IP tunnelling, or the node itself.
 */
export type IpvsForward = "masq" | "route" | "tunnel" | "local";

export const IPVS_PROTOCOL_NUMBERS: Readonly<Record<IpvsProtocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** What a virtual service is keyed by (ip_vs_service_find looks a packet up by these). */
export type IpvsServiceKey =
  | { kind: "address"; protocol: IpvsProtocol; address: string; port: number }
  | { kind: "fwmark"; mark: number };

export interface IpvsRealServer {
  address: string;
  port: number;
  /** Absent when the input does not show it (`--stats`, `--rate` listings). */
  forward?: IpvsForward;
  weight?: number;
  activeConns?: number;
  inactConns?: number;
  /** Connection thresholds (`-x`, `-y`), when given; 0 is none. */
  upperThreshold?: number;
  lowerThreshold?: number;
  span: Span;
}

export interface IpvsService {
  key: IpvsServiceKey;
  family: Family;
  /** rr, wrr, sh... any name is kept; absent when the input does not show it. */
  scheduler?: string;
  /** Persistence timeout in seconds (`persistent N`, `-p N`), when the service is persistent. */
  persistent?: number;
  /** The persistence granularity: a dotted mask for IPv4, a prefix length for IPv6. */
  netmask?: string;
  /** One-packet scheduling (`ops`, `-o`). */
  onePacket: boolean;
  /** Scheduler flags (`sh-fallback`, `sh-port`, `mh-fallback`, `mh-port`, `flag-1`...). */
  schedulerFlags: string[];
  /** A persistence engine (`pe sip`). */
  persistenceEngine?: string;
  servers: IpvsRealServer[];
  span: Span;
}

export interface IpvsTable {
  services: IpvsService[];
  /**
   * True when the real servers are listed in the kernel's own order (svc->destinations, newest
   * first): output of `ipvsadm -L/-S --nosort`. ipvsadm sorts by address otherwise, and the
   * schedulers that walk the list (lc, wlc, sh, dh...) then cannot be followed exactly.
   */
  kernelOrder?: boolean;
}

/** The service as `ipvsadm -Ln` names it: `TCP  10.96.0.10:53`, `UDP  [fd00::1]:53`, `FWM  123`. */
export function ipvsServiceName(s: Pick<IpvsService, "key" | "family">): string {
  if (s.key.kind === "fwmark") return `FWM ${s.key.mark}${s.family === "ipv6" ? " IPv6" : ""}`;
  return `${s.key.protocol.toUpperCase()} ${ipvsEndpoint(s.key.address, s.key.port, s.family)}`;
}

/** `10.0.0.1:80`, `[fd00::1]:80`. */
export function ipvsEndpoint(address: string, port: number, family: Family): string {
  return family === "ipv6" ? `[${address}]:${port}` : `${address}:${port}`;
}
