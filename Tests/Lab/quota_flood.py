#!/usr/bin/env python3
"""quota_flood.py SERVER FLOOD_SOURCE VICTIM_SOURCE TAG [--seconds S] [--flood-rate R]
[--victim-rate R]: for S seconds, FLOOD_SOURCE sends R queries a second for distinct
silent-N-TAG.hostile.test names (hostile_upstream.py never answers them) while
VICTIM_SOURCE sends its own rate of distinct ok-N-TAG.hostile.test names (answered at
once upstream): misses both. Victim queries get a second after the last send to be
answered. Prints one line:
"victim sent N noerror K servfail S none U flood sent F servfail G answered H"."""
import argparse
import select
import socket
import struct
import time


def query(ident, name):
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", 1, 1)


def bound_socket(source):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    return sock


def main():
    parser = argparse.ArgumentParser()
    for name in ("server", "flood_source", "victim_source", "tag"):
        parser.add_argument(name)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--flood-rate", type=float, default=300)
    parser.add_argument("--victim-rate", type=float, default=40)
    args = parser.parse_args()
    flood, victim = bound_socket(args.flood_source), bound_socket(args.victim_source)
    start = time.monotonic()
    end = start + args.seconds
    sent = {"flood": 0, "victim": 0}
    codes = {"flood": {}, "victim": {}}
    pending = set()
    while True:
        now = time.monotonic()
        if now >= end + 1.0:
            break
        if now < end:
            for role, sock, rate in (("flood", flood, args.flood_rate), ("victim", victim, args.victim_rate)):
                due = int((now - start) * rate) + 1
                while sent[role] < due:
                    sent[role] += 1
                    ident = sent[role] & 0xFFFF
                    mode = "silent" if role == "flood" else "ok"
                    sock.sendto(query(ident, f"{mode}-{sent[role]}-{args.tag}.hostile.test"), (args.server, 53))
                    if role == "victim":
                        pending.add(ident)
        readable, _, _ = select.select([flood, victim], [], [], 0.002)
        for sock in readable:
            role = "flood" if sock is flood else "victim"
            while True:
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    break
                if len(data) < 12:
                    continue
                ident, flags = struct.unpack("!HH", data[:4])
                if role == "victim":
                    if ident not in pending:
                        continue
                    pending.discard(ident)
                rcode = flags & 0xF
                codes[role][rcode] = codes[role].get(rcode, 0) + 1
    print(f"victim sent {sent['victim']} noerror {codes['victim'].get(0, 0)} servfail {codes['victim'].get(2, 0)} "
          f"none {len(pending)} flood sent {sent['flood']} servfail {codes['flood'].get(2, 0)} "
          f"answered {sum(codes['flood'].values())}")


if __name__ == "__main__":
    main()
