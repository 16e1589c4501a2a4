#!/usr/bin/env python3
"""Sends one hand-built IPv4 packet through a raw socket (IP_HDRINCL), so the kernel tests can
inject exactly the packet a netfate test describes: any source address, ports, TCP flags, ICMP
type, TTL, TOS and IP ID (the ID tags the packet in xtables-monitor's trace).

usage: send-packet.py SRC DST PROTO ID [SPORT DPORT FLAGS | ICMPTYPE ICMPCODE] [TTL TOS]
SRC may be 0.0.0.0 to let the kernel pick it (locally generated packets).

       send-packet.py --batch GAP_MS < LINES
each line `NETNS SRC DST PROTO ID ...` (the arguments above after a network namespace name):
one process sends them all, GAP_MS apart, from a raw socket opened in that namespace, and
prints `ID ok`, `ID eperm` (netfilter dropped it in OUTPUT), `ID unreachable` (no route, or a blackhole, unreachable or prohibit route or rule) or
`ID error MESSAGE` per line. NETNS%DEV[%MAC] sends the IPv4 packet exactly as built, in a
frame to MAC (default ff:ff:ff:ff:ff:ff, a link-layer broadcast) out of DEV through a packet
socket: as a host on the LAN sends to 255.255.255.255 or to the subnet's broadcast address
(the receiver's pkttype is then `broadcast`, not `host`), and for what the sender's own IP
stack would not let out: a 127.0.0.0/8 destination (routed to its own lo) or a 0.0.0.0
source (a raw socket fills its own address in). Starting Python once instead of once a packet is most of the
kernel tests' time saved.

       send-packet.py --sockets < COMMANDS
real TCP and ICMP sockets in named namespaces (see sockets_mode): a connection's reply made by
the kernel, and whether it reached the sender's socket."""
import ctypes, errno, os, socket, struct, sys, time

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def build(argv: list) -> tuple:
    if ":" in argv[1]:
        return build6(argv)
    src, dst, proto, ident = argv[0], argv[1], int(argv[2]), int(argv[3])
    rest = argv[4:]
    ttl, tos = 64, 0
    if proto in (6, 17):
        sport, dport, flags = int(rest[0]), int(rest[1]), int(rest[2])
        if len(rest) >= 5:
            ttl, tos = int(rest[3]), int(rest[4])
    elif proto == 1:
        itype, icode = int(rest[0]), int(rest[1])
        if len(rest) >= 4:
            ttl, tos = int(rest[2]), int(rest[3])
    else:
        if len(rest) >= 2:
            ttl, tos = int(rest[0]), int(rest[1])
    s_ip, d_ip = socket.inet_aton(src), socket.inet_aton(dst)
    if proto == 6:
        hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 64240, 0, 0)
        pseudo = s_ip + d_ip + struct.pack("!BBH", 0, 6, len(hdr))
        payload = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    elif proto == 17:
        body = b"netfate"
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(body), 0)
        pseudo = s_ip + d_ip + struct.pack("!BBH", 0, 17, 8 + len(body))
        c = csum(pseudo + hdr + body) or 0xFFFF
        payload = hdr[:6] + struct.pack("!H", c) + body
    elif proto == 1:
        hdr = struct.pack("!BBHHH", itype, icode, 0, ident, 1) + b"netfate!"
        payload = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
    else:
        payload = b"\0" * 20
    total = 20 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, tos, total, ident, 0, ttl, proto, 0, s_ip, d_ip)
    return ip + payload, dst

def build6(argv: list) -> tuple:
    """An IPv6 packet, tagged by its flow label (IPv6 has no IP ID); ICMPv6 is protocol 58."""
    src, dst, proto, ident = argv[0], argv[1], int(argv[2]), int(argv[3])
    rest = argv[4:]
    s_ip, d_ip = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    pseudo = lambda n, p: s_ip + d_ip + struct.pack("!IxxxB", n, p)
    if proto == 6:
        sport, dport, flags = int(rest[0]), int(rest[1]), int(rest[2])
        hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 64240, 0, 0)
        payload = hdr[:16] + struct.pack("!H", csum(pseudo(len(hdr), 6) + hdr)) + hdr[18:]
    elif proto == 17:
        sport, dport = int(rest[0]), int(rest[1])
        body = b"netfate"
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(body), 0)
        c = csum(pseudo(8 + len(body), 17) + hdr + body) or 0xFFFF
        payload = hdr[:6] + struct.pack("!H", c) + body
    elif proto == 58:
        itype, icode = int(rest[0]), int(rest[1])
        hdr = struct.pack("!BBHHH", itype, icode, 0, ident & 0xFFFF, 1) + b"netfate!"
        payload = hdr[:2] + struct.pack("!H", csum(pseudo(len(hdr), 58) + hdr)) + hdr[4:]
    else:
        payload = b"\0" * 20
    ip = struct.pack("!IHBB", (6 << 28) | (ident & 0xFFFFF), len(payload), proto, 64) + s_ip + d_ip
    return ip + payload, dst

def raw_socket(family: int = socket.AF_INET) -> socket.socket:
    return socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

def in_netns(netns: str, make):
    """What `make` returns, made inside the named namespace (a socket keeps the namespace it was made in)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + netns)
        try:
            return make()
        finally:
            libc.setns(home, CLONE_NEWNET)
    finally:
        os.close(home)
        os.close(target)

def socket_in(netns: str, family: int) -> socket.socket:
    """A raw socket of the named namespace."""
    return in_netns(netns, lambda: raw_socket(family))

ETH_P_IP = 0x0800

def packet_socket_in(netns: str) -> socket.socket:
    """A datagram packet socket of the named namespace: the kernel adds the Ethernet header."""
    return in_netns(netns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP)))

def with_ip_checksum(data: bytes) -> bytes:
    """A raw IP socket fills the header checksum in; a packet socket sends what it is given."""
    return data[:10] + struct.pack("!H", csum(data[:20])) + data[12:]

def batch(gap: float) -> None:
    sockets: dict = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        ident = words[4]
        try:
            if "%" in words[0]:
                netns, dev, *lladdr = words[0].split("%")
                key = (netns, "packet")
                if key not in sockets:
                    sockets[key] = packet_socket_in(netns)
                data, _ = build(words[1:])
                mac = bytes.fromhex(lladdr[0].replace(":", "")) if lladdr else b"\xff" * 6
                sockets[key].sendto(with_ip_checksum(data), (dev, ETH_P_IP, 0, 0, mac))
                print(ident, "ok", flush=True)
                time.sleep(gap)
                continue
            family = socket.AF_INET6 if ":" in words[2] else socket.AF_INET
            key = (words[0], family)
            if key not in sockets:
                sockets[key] = socket_in(words[0], family)
            data, dst = build(words[1:])
            sockets[key].sendto(data, (dst, 0))
            print(ident, "ok", flush=True)
        except OSError as e:
            if e.errno == errno.EPERM:
                print(ident, "eperm", flush=True)
            elif e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EINVAL, errno.EACCES):
                # EINVAL: a blackhole route or rule; EACCES: a prohibit one.
                print(ident, "unreachable", flush=True)
            else:
                print(ident, "error", str(e).replace("\n", " "), flush=True)
        time.sleep(gap)

def sockets_mode() -> None:
    """Real sockets in named namespaces, for a connection whose reply the kernel makes. Each
    stdin line is one command, answered by one stdout line:
      NETNS listen ADDR PORT               a TCP listener (the kernel answers SYNs, no accept needed) -> ok
      NETNS connect SRC SPORT DST DPORT MS a TCP connect from SRC:SPORT -> ok | timeout | refused | unreachable
      NETNS ping SRC DST IDENT MS          an ICMP echo request with IDENT, waiting for its echo reply from DST -> ok | timeout | unreachable | other-source
    A connected socket stays open (closing it would send more packets); a failed one is closed."""
    import select
    keep: list = []
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        netns, cmd, args = words[0], words[1], words[2:]
        try:
            if cmd == "listen":
                def make_listener():
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((args[0], int(args[1])))
                    s.listen(1024)
                    return s
                keep.append(in_netns(netns, make_listener))
                print("ok", flush=True)
            elif cmd == "connect":
                src, sport, dst, dport, ms = args[0], int(args[1]), args[2], int(args[3]), int(args[4])
                s = in_netns(netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((src, sport))
                s.settimeout(ms / 1000)
                try:
                    s.connect((dst, dport))
                    keep.append(s)
                    print("ok", flush=True)
                except socket.timeout:
                    s.close()
                    print("timeout", flush=True)
                except ConnectionRefusedError:
                    s.close()
                    print("refused", flush=True)
                except OSError as e:
                    s.close()
                    print("unreachable" if e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EPERM, errno.EINVAL, errno.EACCES) else "error " + str(e), flush=True)
            elif cmd == "ping":
                src, dst, ident, ms = args[0], args[1], int(args[2]), int(args[3])
                s = in_netns(netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
                s.bind((src, 0))
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"netfate!"
                try:
                    s.sendto(hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:], (dst, 0))
                except OSError:
                    s.close()
                    print("unreachable", flush=True)
                    continue
                deadline = time.monotonic() + ms / 1000
                answer = "timeout"
                while (left := deadline - time.monotonic()) > 0:
                    if not select.select([s], [], [], left)[0]:
                        break
                    data = s.recv(2048)
                    ihl = (data[0] & 15) * 4
                    itype, _, _, rid = struct.unpack("!BBHH", data[ihl:ihl + 6])
                    if itype == 0 and rid == ident:
                        # The reply of the echo: from the address pinged. An echo reply from
                        # elsewhere (a DNAT nobody undid) reaches a ping socket too, which
                        # looks up by identifier only (ping_lookup), but is not this echo's reply.
                        if socket.inet_ntoa(data[12:16]) == dst:
                            answer = "ok"
                            break
                        answer = "other-source"
                s.close()
                print(answer, flush=True)
            else:
                print("error unknown command " + cmd, flush=True)
        except OSError as e:
            print("error " + str(e).replace("\n", " "), flush=True)

def main() -> None:
    if sys.argv[1] == "--sockets":
        sockets_mode()
        return
    if sys.argv[1] == "--batch":
        batch(float(sys.argv[2]) / 1000)
        return
    data, dst = build(sys.argv[1:])
    raw_socket(socket.AF_INET6 if ":" in dst else socket.AF_INET).sendto(data, (dst, 0))

main()
