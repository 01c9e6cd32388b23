#!/usr/bin/env python3
"""Lab self-check: does TPROXY hand us datagrams with their original destination?

Binds one dual-stack UDP socket to [::]:PORT with IP_TRANSPARENT/IPV6_TRANSPARENT and asks
for IP_ORIGDSTADDR/IPV6_ORIGDSTADDR, the way tproxy-dns does. Prints "listening" once bound,
then one line per datagram:

    origdst 203.0.113.53#53 from 192.0.2.10#41234 bytes 41

and exits 0 after --count datagrams, or 1 if --timeout seconds pass first.
Run it inside the gateway namespace, as root.
"""

import argparse
import ipaddress
import socket
import struct
import sys
import time

# <linux/in.h>, <linux/in6.h>; Python's socket module does not export all of them.
SOL_IP = 0
SOL_IPV6 = 41
IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
IP_ORIGDSTADDR = IP_RECVORIGDSTADDR
IPV6_RECVORIGDSTADDR = 74
IPV6_ORIGDSTADDR = IPV6_RECVORIGDSTADDR
IPV6_TRANSPARENT = 75


def parse_sockaddr(level, kind, data):
    """sockaddr_in / sockaddr_in6 from an ORIGDSTADDR control message, as (address, port)."""
    if level == SOL_IP and kind == IP_ORIGDSTADDR:
        _family, port = struct.unpack_from("!HH", data, 0)
        return str(ipaddress.IPv4Address(data[4:8])), port
    if level == SOL_IPV6 and kind == IPV6_ORIGDSTADDR:
        _family, port = struct.unpack_from("!HH", data, 0)
        return str(ipaddress.IPv6Address(data[8:24])), port
    return None


def unmapped(address):
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(SOL_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(SOL_IP, IP_TRANSPARENT, 1)
    sock.setsockopt(SOL_IPV6, IPV6_TRANSPARENT, 1)
    sock.setsockopt(SOL_IP, IP_RECVORIGDSTADDR, 1)
    sock.setsockopt(SOL_IPV6, IPV6_RECVORIGDSTADDR, 1)
    sock.bind(("::", args.port))
    print("listening", flush=True)

    deadline = time.monotonic() + args.timeout
    seen = 0
    while seen < args.count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(f"timeout after {seen} of {args.count} datagrams", file=sys.stderr)
            return 1
        sock.settimeout(remaining)
        try:
            data, ancillary, _flags, source = sock.recvmsg(4096, socket.CMSG_SPACE(64))
        except socket.timeout:
            continue
        origdst = None
        for level, kind, cmsg_data in ancillary:
            origdst = parse_sockaddr(level, kind, cmsg_data) or origdst
        if origdst is None:
            print(f"datagram from {source} without ORIGDSTADDR", file=sys.stderr)
            return 1
        print(f"origdst {origdst[0]}#{origdst[1]} from {unmapped(source[0])}#{source[1]} "
              f"bytes {len(data)}", flush=True)
        seen += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
