/**
 * `ipset restore` inputs and what the real tool (ipset 7.17) does with each: refused at a
 * line, or taken. The unit test holds netfate's located diagnostics to them; the kernel test
 * asks the tool itself in a network namespace.
 */
export interface IpsetRestoreCase {
  name: string;
  text: string;
  /** The line ipset restore refuses (undefined: it takes the whole text). */
  refusedAt?: number;
  /** What netfate reports: an error at line:col (with the refusal), or a warning (with acceptance). */
  diagnostic?: { severity: "error" | "warning"; line: number; col: number; message: RegExp; expected?: RegExp; found?: string };
}

export const IPSET_RESTORE_CASES: IpsetRestoreCase[] = [
  {
    name: "a member that is not an address (XXX.XXX.174.108)",
    text: "create s hash:ip family inet\nadd s XXX.XXX.174.108\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /cannot parse XXX\.XXX\.174\.108: resolving to IPv4 address failed/, expected: /IPv4 address/, found: "XXX.XXX.174.108" },
  },
  {
    name: "an address without its port in hash:ip,port",
    text: "create s hash:ip,port family inet\nadd s 8.8.8.8,udp:53\nadd s 10.0.0.5\n",
    refusedAt: 3,
    diagnostic: { severity: "error", line: 3, col: 7, message: /Second element is missing from 10\.0\.0\.5/, expected: /IP,\[PROTO:\]PORT/, found: "10.0.0.5" },
  },
  {
    name: "a port above 65535 (tcp:99999)",
    text: "create s hash:ip,port family inet\nadd s 10.0.0.5,tcp:99999\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 20, message: /'99999' is out of range 0-65535/, found: "99999" },
  },
  {
    name: "70000 in bitmap:port",
    text: "create s bitmap:port range 0-1024\nadd s 70000\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /'70000' is out of range 0-65535/, found: "70000" },
  },
  {
    name: "a port outside the bitmap's range",
    text: "create s bitmap:port range 1-1000\nadd s 2000\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /out of the range of the set/, expected: /1-1000/, found: "2000" },
  },
  {
    name: "an address outside the bitmap's range",
    text: "create s bitmap:ip range 10.0.0.0/24\nadd s 10.0.1.1\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /out of the range of the set/, expected: /10\.0\.0\.0-10\.0\.0\.255/, found: "10.0.1.1" },
  },
  {
    name: "a /33 prefix",
    text: "create s hash:net family inet\nadd s 10.0.0.0/33\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 16, message: /'33' is out of range 0-32/, found: "33" },
  },
  {
    name: "a /0 prefix in hash:net",
    text: "create s hash:net family inet\nadd s 10.0.0.0/0\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 16, message: /CIDR parameter of the IP address is invalid/, found: "0" },
  },
  {
    name: "an IPv4 member in a family inet6 set",
    text: "create s hash:ip family inet6\nadd s 10.0.0.1\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /resolving to IPv6 address failed/, expected: /inet6/, found: "10.0.0.1" },
  },
  {
    name: "0.0.0.0 in hash:ip",
    text: "create s hash:ip family inet\nadd s 0.0.0.0\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /Null-valued element/, found: "0.0.0.0" },
  },
  {
    name: "a list:set containing itself",
    text: "create l list:set size 8\nadd l l\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /Sets with list:set type cannot be added to the set/, found: "l" },
  },
  {
    name: "a cycle of two list:sets",
    text: "create a list:set\ncreate b list:set\nadd a b\nadd b a\n",
    refusedAt: 3,
    diagnostic: { severity: "error", line: 3, col: 7, message: /Sets with list:set type cannot be added to the set/, found: "b" },
  },
  {
    name: "a list:set member created after the line",
    text: "create l list:set\nadd l later\ncreate later hash:ip family inet\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 7, message: /as element does not exist/, found: "later" },
  },
  {
    name: "an ICMP member in a family inet6 set",
    text: "create s hash:ip,port family inet6\nadd s ::5,icmp:8/0\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 11, message: /protocol icmp in a family inet6 set/, found: "icmp:8/0" },
  },
  {
    name: "a port on a port-less protocol (gre:5)",
    text: "create s hash:ip,port family inet\nadd s 10.0.0.5,gre:5\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 20, message: /Protocol gre can be used with pseudo port value 0 only/, found: "5" },
  },
  {
    name: "an ICMP name ipset does not know (redirect)",
    text: "create s hash:ip,port family inet\nadd s 10.0.0.5,icmp:redirect\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 21, message: /Cannot parse redirect as an ICMP type\/code/, found: "redirect" },
  },
  {
    name: "nomatch in a type without nomatch entries",
    text: "create s hash:ip family inet\nadd s 10.0.0.1 nomatch\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 16, message: /Unknown argument: `nomatch'/, found: "nomatch" },
  },
  {
    name: "a timeout in a set created without timeouts",
    text: "create s hash:ip family inet\nadd s 10.0.0.1 timeout 5\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 16, message: /Timeout cannot be used/, found: "timeout" },
  },
  {
    name: "a # comment after a member",
    text: "create s hash:ip family inet\nadd s 10.0.0.1 # why\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 16, message: /Unknown argument: `#'/, found: "#" },
  },
  {
    name: "an interface name longer than 15 characters",
    text: "create s hash:net,iface family inet\nadd s 10.0.0.0/8,abcdefghijklmnop\n",
    refusedAt: 2,
    diagnostic: { severity: "error", line: 2, col: 18, message: /longer than 15 characters/, found: "abcdefghijklmnop" },
  },
  {
    name: "# comment lines, indented or not",
    text: "# saved by hand\ncreate s hash:ip family inet\n# members\nadd s 10.0.0.1\n   # indented\n",
  },
  {
    name: "members written as ipset save writes them, with their options",
    text: "create s hash:net,iface family inet counters comment\nadd s 10.0.0.0/8,eth0 packets 0 bytes 0 comment \"a b\"\nadd s 10.1.0.0/16,et wildcard nomatch\nadd s 10.2.0.0/16,physdev:eth0\ncreate p hash:ip,port family inet\nadd p 10.0.0.5,icmp:echo-request\nadd p 10.0.0.5,gre:0\nadd p 10.0.0.5,udp:53\nadd p 10.0.0.5,tcp:0\ncreate m bitmap:ip,mac range 10.1.0.0/24\nadd m 10.1.0.1,00:11:22:33:44:55\nadd m 10.1.0.2\ncreate l list:set\nadd l p\nadd l s\n",
  },
  {
    name: "a service name (tcp:http), which ipset resolves",
    text: "create s hash:ip,port family inet\nadd s 10.0.0.5,tcp:http\n",
    diagnostic: { severity: "warning", line: 2, col: 20, message: /service name/ },
  },
  {
    name: "a host name (localhost), which ipset resolves",
    text: "create s hash:ip family inet\nadd s localhost\n",
    diagnostic: { severity: "warning", line: 2, col: 7, message: /host name/ },
  },
];
