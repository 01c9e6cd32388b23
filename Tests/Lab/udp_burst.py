#!/usr/bin/env python3
"""Send COUNT distinct A queries for example.test to SERVER:53 from one socket as fast as
possible, then count the answers that arrive within a second. Prints "answered N of COUNT".

With PREFIX (and optionally SECONDS, default 1), query distinct names PREFIX-N.wild.example.test
instead, so none is coalesced or cached (each is its own upstream query), wait up to SECONDS,
and count only NOERROR answers carrying a record.

    udp_burst.py SERVER COUNT [PREFIX [SECONDS]]"""
import socket
import struct
import sys
import time


def query(ident, name="example.test"):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    wire = b"".join(bytes([len(label)]) + label for label in name.encode().split(b".")) + b"\0"
    return header + wire + struct.pack("!HH", 1, 1)


def counts(data, distinct):
    """Any reply counts for the plain burst; a distinct-name burst wants NOERROR with answers."""
    if not distinct:
        return len(data) >= 2
    return len(data) >= 12 and struct.unpack("!H", data[2:4])[0] & 0x000F == 0 and struct.unpack("!H", data[6:8])[0] > 0


def main():
    server, count = sys.argv[1], int(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) > 3 else None
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    for ident in range(count):
        name = f"{prefix}-{ident + 1}.wild.example.test" if prefix else "example.test"
        sock.sendto(query(ident + 1, name), (server, 53))
    answered = set()
    deadline = time.monotonic() + seconds
    while len(answered) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        if counts(data, prefix is not None):
            answered.add(struct.unpack("!H", data[:2])[0])
    print(f"answered {len(answered)} of {count}")


if __name__ == "__main__":
    main()
