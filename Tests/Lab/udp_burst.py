#!/usr/bin/env python3
"""Send COUNT distinct A queries for example.test to SERVER:53 from one socket as fast as
possible, then count the answers that arrive within a second. Prints "answered N of COUNT"."""
import socket
import struct
import sys
import time


def query(ident):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    name = b"".join(bytes([len(label)]) + label for label in b"example.test".split(b".")) + b"\0"
    return header + name + struct.pack("!HH", 1, 1)


def main():
    server, count = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    for ident in range(count):
        sock.sendto(query(ident + 1), (server, 53))
    answered = set()
    deadline = time.monotonic() + 1.0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        if len(data) >= 2:
            answered.add(struct.unpack("!H", data[:2])[0])
    print(f"answered {len(answered)} of {count}")


if __name__ == "__main__":
    main()
