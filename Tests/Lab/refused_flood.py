#!/usr/bin/env python3
"""Queries from addresses outside the daemon's --allow (stand-ins for spoofed sources),
paced, counting the REFUSED replies that come back per second.

    refused_flood.py SERVER RATE SECONDS SOURCE...

Sends RATE queries a second for SECONDS seconds, spread over one UDP socket per SOURCE
address (which this namespace owns, so the replies reach us), then listens one more second.
Prints one line:
    sent N refused M per-second A B C ... max X
where the per-second counts are REFUSED replies by the second (from the first send) they
arrived in; the last is the extra second.
"""

import select
import socket
import struct
import sys
import threading
import time


def query(ident, serial):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    name = b"".join(bytes([len(label)]) + label for label in f"q{serial}.example.test".encode().split(b"."))
    return header + name + b"\0" + struct.pack("!HH", 1, 1)


def send_paced(socks, server, rate, seconds, start, sent):
    tick, total = 0.01, int(rate * seconds)
    for serial in range(total):
        due = start + serial / rate
        delay = due - time.monotonic()
        if delay > tick:
            time.sleep(delay)
        socks[serial % len(socks)].sendto(query(serial & 0xFFFF, serial), (server, 53))
        sent[0] += 1


def main():
    server, rate, seconds, sources = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    socks = []
    for source in sources:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        sock.setblocking(False)
        socks.append(sock)
    sent, buckets = [0], [0] * (seconds + 1)
    start = time.monotonic() + 0.05
    sender = threading.Thread(target=send_paced, args=(socks, server, rate, seconds, start, sent))
    sender.start()
    end = start + seconds + 1
    while time.monotonic() < end:
        ready, _, _ = select.select(socks, [], [], max(0, min(0.1, end - time.monotonic())))
        for sock in ready:
            while True:
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    break
                if len(data) >= 4 and data[3] & 0x0F == 5:
                    second = min(seconds, int(time.monotonic() - start))
                    buckets[max(0, second)] += 1
    sender.join()
    print(f"sent {sent[0]} refused {sum(buckets)} per-second {' '.join(map(str, buckets))} max {max(buckets[:seconds])}")


if __name__ == "__main__":
    main()
