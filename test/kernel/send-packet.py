#!/usr/bin/env python3
"""Sends one hand-built IPv4 packet through a raw socket (IP_HDRINCL), so the kernel tests can
inject exactly the packet a netfate test describes: any source address, ports, TCP flags, ICMP
type, TTL, TOS and IP ID (the ID tags the packet in xtables-monitor's trace).

usage: send-packet.py SRC DST PROTO ID [SPORT DPORT FLAGS | ICMPTYPE ICMPCODE] [TTL TOS]
SRC may be 0.0.0.0 to let the kernel pick it (locally generated packets)."""
import socket, struct, sys

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def main() -> None:
    src, dst, proto, ident = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rest = sys.argv[5:]
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
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(ip + payload, (dst, 0))

main()
