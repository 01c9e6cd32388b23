#!/usr/bin/env python3
"""Sends one hand-made DNS datagram and reports the reply, for robustness checks.

    raw_dns_query.py SERVER CASE [--port 53] [--timeout 2]

CASE is one of:
    short               5 bytes, less than a DNS header
    random              64 bytes from a fixed seed (reproducible garbage)
    opcode-status       a well-formed query for example.test A with opcode 2 (STATUS)
    two-questions       a well-formed header with QDCOUNT=2 and two questions
    truncated-question  QDCOUNT=1 but the question stops inside a label
    query               a well-formed query for example.test A (control case)

Prints one line:
    reply from 203.0.113.53#53 id=0xbeef qr=1 opcode=2 rcode=4 qdcount=1 ancount=0 bytes=30
or
    no reply
"""

import argparse
import ipaddress
import random
import socket
import struct
import sys

QUERY_ID = 0xBEEF


def header(flags, qdcount):
    return struct.pack("!HHHHHH", QUERY_ID, flags, qdcount, 0, 0, 0)


def question(name, qtype=1, qclass=1):
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    return wire + b"\x00" + struct.pack("!HH", qtype, qclass)


RD = 0x0100


def payload(case):
    if case == "short":
        return b"\xbe\xef\x01\x00\x00"
    if case == "random":
        return random.Random(53).randbytes(64)
    if case == "opcode-status":
        return header(RD | (2 << 11), 1) + question("example.test")
    if case == "two-questions":
        return header(RD, 2) + question("example.test") + question("www.example.test")
    if case == "truncated-question":
        return header(RD, 1) + b"\x07example\x04te"
    if case == "query":
        return header(RD, 1) + question("example.test")
    raise SystemExit(f"unknown case {case!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server")
    parser.add_argument("case")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()

    family = socket.AF_INET6 if ipaddress.ip_address(args.server).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(args.timeout)
    sock.sendto(payload(args.case), (args.server, args.port))
    try:
        data, source = sock.recvfrom(65535)
    except socket.timeout:
        print("no reply")
        return 0
    except ConnectionRefusedError:
        print("no reply (ICMP port unreachable)")
        return 0
    if len(data) < 12:
        print(f"short reply from {source[0]}#{source[1]} bytes={len(data)}")
        return 0
    reply_id, flags, qdcount, ancount = struct.unpack_from("!HHHH", data, 0)
    print(f"reply from {source[0]}#{source[1]} id={reply_id:#06x} qr={flags >> 15} "
          f"opcode={(flags >> 11) & 0xF} rcode={flags & 0xF} qdcount={qdcount} "
          f"ancount={ancount} bytes={len(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
