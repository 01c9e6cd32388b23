#!/usr/bin/env python3
"""many_flows.py SERVER NAME COUNT [TYPE]: one query for NAME from each of COUNT fresh UDP
sockets (so COUNT source ports: COUNT flows, which SO_REUSEPORT spreads over the daemon's
workers), all sent before any answer is read. "{i}" in NAME becomes the flow's number, so
every flow can ask a different name (misses on every worker at once). Prints one line:
"answered N of COUNT from-server M aa K rcodes NOERROR=N ...", where from-server counts
answers whose source address is SERVER and aa those with the AA flag."""
import collections
import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
TYPES = {"A": 1, "AAAA": 28, "TXT": 16}


def query(ident, name, qtype):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(label)]) + label for label in name.encode().strip(b".").split(b"."))
    return header + labels + b"\0" + struct.pack("!HH", qtype, 1)


def main():
    server, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    qtype = TYPES[sys.argv[4] if len(sys.argv) > 4 else "A"]
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sockets = {}
    for ident in range(1, count + 1):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.sendto(query(ident, name.replace("{i}", str(ident)), qtype), (server, 53))
        sockets[sock] = ident
    rcodes, answered, from_server, aa = collections.Counter(), 0, 0, 0
    deadline = time.monotonic() + 3.0
    while sockets and time.monotonic() < deadline:
        readable, _, _ = select.select(list(sockets), [], [], max(0.0, deadline - time.monotonic()))
        for sock in readable:
            data, source = sock.recvfrom(4096)
            if len(data) < 12 or struct.unpack("!H", data[:2])[0] != sockets[sock]:
                continue
            flags = struct.unpack("!H", data[2:4])[0]
            answered += 1
            from_server += source[0] == server
            aa += bool(flags & 0x0400)
            rcodes[RCODES.get(flags & 0xF, str(flags & 0xF))] += 1
            del sockets[sock]
            sock.close()
    summary = " ".join(f"{code}={n}" for code, n in sorted(rcodes.items()))
    print(f"answered {answered} of {count} from-server {from_server} aa {aa} rcodes {summary}")


if __name__ == "__main__":
    main()
