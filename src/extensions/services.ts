/**
 * Well-known service names for ports. iptables resolves names through /etc/services when
 * parsing, and `-L` without `-n` prints names; netfate carries its own table of the common
 * ones so results do not depend on the machine it runs on.
 */
const SERVICES: ReadonlyArray<readonly [string, number, "tcp" | "udp" | "both"]> = [
  ["tcpmux", 1, "tcp"], ["echo", 7, "both"], ["systat", 11, "tcp"], ["cisco-sccp", 2000, "tcp"],
  ["mdns", 5353, "udp"], ["tproxy", 8081, "tcp"], ["discard", 9, "both"], ["daytime", 13, "both"],
  ["ftp-data", 20, "tcp"], ["ftp", 21, "tcp"], ["ssh", 22, "tcp"], ["telnet", 23, "tcp"],
  ["smtp", 25, "tcp"], ["time", 37, "both"], ["whois", 43, "tcp"], ["tacacs", 49, "both"],
  ["domain", 53, "both"], ["bootps", 67, "udp"], ["bootpc", 68, "udp"], ["tftp", 69, "udp"],
  ["gopher", 70, "tcp"], ["finger", 79, "tcp"], ["http", 80, "tcp"], ["kerberos", 88, "both"],
  ["pop3", 110, "tcp"], ["sunrpc", 111, "both"], ["auth", 113, "tcp"], ["nntp", 119, "tcp"],
  ["ntp", 123, "udp"], ["epmap", 135, "both"], ["netbios-ns", 137, "udp"],
  ["netbios-dgm", 138, "udp"], ["netbios-ssn", 139, "tcp"], ["imap2", 143, "tcp"],
  ["snmp", 161, "both"], ["snmp-trap", 162, "both"], ["bgp", 179, "tcp"], ["irc", 194, "tcp"],
  ["ldap", 389, "both"], ["https", 443, "both"], ["microsoft-ds", 445, "tcp"],
  ["kpasswd", 464, "both"], ["submissions", 465, "tcp"], ["isakmp", 500, "udp"],
  ["exec", 512, "tcp"], ["biff", 512, "udp"], ["login", 513, "tcp"], ["who", 513, "udp"],
  ["shell", 514, "tcp"], ["syslog", 514, "udp"], ["printer", 515, "tcp"], ["ipp", 631, "tcp"],
  ["dhcpv6-client", 546, "both"], ["dhcpv6-server", 547, "both"], ["submission", 587, "tcp"],
  ["ldaps", 636, "both"], ["rsync", 873, "tcp"], ["ftps-data", 989, "tcp"], ["ftps", 990, "tcp"],
  ["imaps", 993, "tcp"], ["pop3s", 995, "tcp"], ["socks", 1080, "tcp"], ["openvpn", 1194, "both"],
  ["ms-sql-s", 1433, "tcp"], ["l2f", 1701, "both"], ["radius", 1812, "both"],
  ["radius-acct", 1813, "both"], ["nfs", 2049, "both"], ["mysql", 3306, "tcp"],
  ["ms-wbt-server", 3389, "tcp"], ["svn", 3690, "tcp"], ["ipsec-nat-t", 4500, "udp"],
  ["sip", 5060, "both"], ["xmpp-client", 5222, "tcp"], ["postgresql", 5432, "tcp"],
  ["x11", 6000, "tcp"], ["ircd", 6667, "tcp"], ["http-alt", 8080, "tcp"],
  ["ndmps", 30000, "both"], ["filenet-powsrm", 32767, "both"],
];

const BY_NAME = new Map<string, number>();
const BY_PORT = { tcp: new Map<number, string>(), udp: new Map<number, string>() };
for (const [name, port, proto] of SERVICES) {
  if (!BY_NAME.has(name)) BY_NAME.set(name, port);
  for (const p of proto === "both" ? (["tcp", "udp"] as const) : [proto]) if (!BY_PORT[p].has(port)) BY_PORT[p].set(port, name);
}

export function servicePort(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** The name `-L` prints for a port of a protocol (getservbyport): tcp and udp have names, others not. */
export function serviceName(port: number, proto: "tcp" | "udp" | string = "tcp"): string | undefined {
  return proto === "tcp" || proto === "udp" ? BY_PORT[proto].get(port) : undefined;
}

/** Network names `-L` prints without `-n` (Debian's /etc/networks). */
const NETWORKS: ReadonlyArray<readonly [string, string]> = [["loopback", "127.0.0.0"], ["link-local", "169.254.0.0"]];

export function networkName(address: string): string | undefined {
  return NETWORKS.find(([, a]) => a === address)?.[0];
}

export function networkAddress(name: string): string | undefined {
  return NETWORKS.find(([n]) => n === name)?.[1];
}
