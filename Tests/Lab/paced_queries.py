#!/usr/bin/env python3
"""Cache misses at a steady pace: COUNT A queries for distinct names under a wildcard,
RATE a second, over UDP to SERVER:53 (stdlib only, bounded in count and time).

    paced_queries.py SERVER [--count 400] [--rate 50] [--zone wild.example.test] [--wait 3]

Each name is new (paced-<pid>-<n>.ZONE), so every query needs an upstream socket. Waits up
to --wait s after the last for late answers. Prints:
    answered 400 of 400: NOERROR 400, SERVFAIL 0, other 0, unanswered 0
"""

import argparse
import os
import select
import socket
import struct
import time


def query(ident, name):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return header + wire + struct.pack("!HH", 1, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--zone", default="wild.example.test")
    parser.add_argument("--wait", type=float, default=3.0)
    args = parser.parse_args()
    count = min(args.count, 10000)
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    rcodes = {}
    start = time.monotonic()
    sent = 0
    last = None
    while True:
        now = time.monotonic()
        while sent < count and now >= start + sent / args.rate:
            sock.sendto(query(sent + 1, f"paced-{os.getpid()}-{sent}.{args.zone}"), (args.server, 53))
            sent += 1
        if sent == count and last is None:
            last = now
        if last is not None and (now >= last + args.wait or len(rcodes) == count):
            break
        ready, _, _ = select.select([sock], [], [], 0.005)
        while ready:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                break
            if len(data) >= 4:
                rcodes[struct.unpack("!H", data[:2])[0]] = data[3] & 0x0F
    noerror = sum(1 for code in rcodes.values() if code == 0)
    servfail = sum(1 for code in rcodes.values() if code == 2)
    other = len(rcodes) - noerror - servfail
    print(f"answered {len(rcodes)} of {count}: NOERROR {noerror}, SERVFAIL {servfail}, other {other}, "
          f"unanswered {count - len(rcodes)}")


if __name__ == "__main__":
    main()
