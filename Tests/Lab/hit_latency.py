#!/usr/bin/env python3
"""Cache hits at a fixed pace, each one's latency recorded (stdlib only, bounded in count and
time): A queries for hN.ZONE, N random below --names (names the daemon has cached), RATE a
second for DURATION s over UDP to SERVER:53.

    hit_latency.py SERVER --out FILE [--names 100000] [--rate 2000] [--duration 6]
    hit_latency.py --analyze FILE START END

The first form writes one line per query, "SENT_MONOTONIC LATENCY_MS" (latency -1: no
answer within 1 s). The second prints, for queries sent between START and END (monotonic
seconds, as `python3 -c 'import time; print(time.monotonic())'` gives them) and for the rest:
    inside: 1200 queries, 0 unanswered, p50 0.21 ms, p99 0.80 ms, max 1.90 ms
    outside: ...
"""

import argparse
import random
import select
import socket
import struct
import sys
import time


def query(ident, name):
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return header + wire + struct.pack("!HH", 1, 1)


def load(args):
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    count = min(int(args.rate * args.duration), 60000)
    sent_at = {}
    samples = []
    start = time.monotonic()
    sent = 0
    while True:
        now = time.monotonic()
        while sent < count and now >= start + sent / args.rate:
            ident = sent % 65536
            sock.sendto(query(ident, f"h{random.randrange(args.names)}.{args.zone}"), (args.server, 53))
            sent_at[ident] = time.monotonic()
            sent += 1
        for ident, at in list(sent_at.items()):
            if now - at > 1.0:
                samples.append((at, -1.0))
                del sent_at[ident]
        if sent == count and not sent_at:
            break
        ready, _, _ = select.select([sock], [], [], 0.001)
        while ready:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                break
            received = time.monotonic()
            if len(data) >= 2:
                ident = struct.unpack("!H", data[:2])[0]
                at = sent_at.pop(ident, None)
                if at is not None:
                    samples.append((at, (received - at) * 1000))
    with open(args.out, "w") as out:
        for at, latency in sorted(samples):
            out.write(f"{at:.6f} {latency:.3f}\n")


def summary(label, latencies):
    answered = sorted(value for value in latencies if value >= 0)
    if not answered:
        return f"{label}: {len(latencies)} queries, {len(latencies)} unanswered"
    def percentile(p):
        return answered[min(len(answered) - 1, int(len(answered) * p))]
    return (f"{label}: {len(latencies)} queries, {len(latencies) - len(answered)} unanswered, "
            f"p50 {percentile(0.5):.2f} ms, p99 {percentile(0.99):.2f} ms, max {answered[-1]:.2f} ms")


def analyze(path, start, end):
    inside, outside = [], []
    with open(path) as lines:
        for line in lines:
            at, latency = map(float, line.split())
            (inside if start <= at <= end else outside).append(latency)
    print(summary("inside", inside))
    print(summary("outside", outside))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--analyze":
        analyze(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("--out", required=True)
    parser.add_argument("--names", type=int, default=100000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--zone", default="wild.example.test")
    load(parser.parse_args())


if __name__ == "__main__":
    main()
