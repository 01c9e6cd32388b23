#!/usr/bin/env python3
"""One name asked at a steady pace, one query at a time: what a client of a popular name sees
(stdlib only, bounded in count and time).

    steady_queries.py SERVER NAME [--interval 0.5] [--duration 60] [--timeout 2]

Sends an A query for NAME to SERVER:53 every INTERVAL s for DURATION s (at most 1000
queries), each waiting up to TIMEOUT s for its answer. Prints one line per query, then a
summary:
    query 0.000 s: NOERROR ttl 30 in 1.2 ms
    ...
    answered 120 of 120, NOERROR 120, lowest ttl 3, slowest 1.9 ms
"""

import argparse
import socket
import struct
import time


def query(ident, name):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return header + wire + struct.pack("!HH", 1, 1)


def first_answer_ttl(reply, question_end):
    """The TTL of the first answer record (owner compressed to the question), or None."""
    if struct.unpack("!H", reply[6:8])[0] == 0 or len(reply) < question_end + 12:
        return None
    return struct.unpack("!I", reply[question_end + 6:question_end + 10])[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("name")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    count = min(int(args.duration / args.interval) + 1, 1000)
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(args.timeout)
    start = time.monotonic()
    answered = noerror = 0
    lowest_ttl = None
    slowest = 0.0
    for n in range(count):
        pause = start + n * args.interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        ident = (n + 1) & 0xFFFF
        wire = query(ident, args.name)
        sent = time.monotonic()
        sock.sendto(wire, (args.server, 53))
        reply = None
        try:
            while reply is None:
                data = sock.recv(4096)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == ident:
                    reply = data
        except socket.timeout:
            print(f"query {sent - start:.3f} s: no answer in {args.timeout} s")
            continue
        elapsed = (time.monotonic() - sent) * 1000
        rcode = reply[3] & 0x0F
        ttl = first_answer_ttl(reply, len(wire))
        answered += 1
        noerror += rcode == 0
        slowest = max(slowest, elapsed)
        if ttl is not None:
            lowest_ttl = ttl if lowest_ttl is None else min(lowest_ttl, ttl)
        print(f"query {sent - start:.3f} s: rcode {rcode} ttl {ttl} in {elapsed:.1f} ms")
    print(f"answered {answered} of {count}, NOERROR {noerror}, lowest ttl {lowest_ttl}, slowest {slowest:.1f} ms")


if __name__ == "__main__":
    main()
