#!/usr/bin/env python3
"""A DNS upstream that answers every A query with one address (stdlib only): UDP on ADDRESS port 53.

    fixed_upstream.py ADDRESS ANSWER

For the routing-policy lab test: a second server that answers the same names differently from
the lab's knotd, so a test can tell which server an answer came from. A with ANSWER, TTL 300;
other types NODATA. Every query is logged on stdout: query NAME from ADDRESS#PORT
"""

import socket
import sys


def read_question(wire):
    offset = 12
    labels = []
    while wire[offset] != 0:
        length = wire[offset]
        labels.append(wire[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += length + 1
    qtype = int.from_bytes(wire[offset + 1:offset + 3], "big")
    return ".".join(labels), wire[12:offset + 5], qtype


def reply(wire, answer):
    name, question, qtype = read_question(wire)
    flags = 0x8180 | (int.from_bytes(wire[2:4], "big") & 0x0100)
    records = b""
    if qtype == 1:
        records = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (300).to_bytes(4, "big") \
            + (4).to_bytes(2, "big") + socket.inet_aton(answer)
    header = wire[0:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big") + (1 if records else 0).to_bytes(2, "big") \
        + bytes(4)
    return name, header + question + records


def main():
    address, answer = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    print(f"listening on {address}#53, answering {answer}", flush=True)
    while True:
        wire, client = sock.recvfrom(4096)
        if len(wire) < 17 or wire[2] & 0x80:
            continue
        name, out = reply(wire, answer)
        print(f"query {name} from {client[0]}#{client[1]}", flush=True)
        sock.sendto(out, client)


if __name__ == "__main__":
    main()
