#!/usr/bin/env python3
"""A DNS upstream for the DNS 0x20 lab test (stdlib only): UDP and TCP on ADDRESS port 53.

    case_upstream.py ADDRESS [--lowercase]

Answers A 198.51.100.77 (TTL 300, owner a pointer to the question) for any name, echoing the
question exactly as it came, or lower-cased with --lowercase (a server that does not preserve
case). Over UDP the first label's text up to '-' picks a misbehaviour:

    forge   one reply with our ID and question but every letter's case swapped, carrying
            A 192.0.2.66 (poison): a forger who guessed the ID but not the case
    flood   12 replies with wrong IDs carrying the poison, and no real answer: a forger who
            knows the socket's port
Over TCP every name gets the right answer. Every query is logged on stdout, name as received:
    query udp|tcp NAME id=0x.... from ADDRESS#PORT
"""

import argparse
import socket
import struct
import sys
import threading

CORRECT = bytes([198, 51, 100, 77])
POISON = bytes([192, 0, 2, 66])


def log(line):
    print(line, flush=True)


def parse(wire):
    qid, flags = struct.unpack_from("!HH", wire, 0)
    labels, offset = [], 12
    while wire[offset]:
        length = wire[offset]
        labels.append(wire[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return qid, flags, ".".join(labels), wire[12:offset + 5]


def answer(qid, flags, question, rdata):
    header = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100), 1, 1, 0, 0)
    return header + question + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + rdata


def swapped(question):
    name, rest = question[:-4], question[-4:]
    return bytes(b ^ 0x20 if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A else b for b in name) + rest


def udp_replies(wire, lowercase):
    qid, flags, name, question = parse(wire)
    mode = name.split(".")[0].lower().split("-")[0] if name else ""
    if mode == "forge":
        return name, qid, [answer(qid, flags, swapped(question), POISON)]
    if mode == "flood":
        return name, qid, [answer((qid + 1 + n) & 0xFFFF, flags, question, POISON) for n in range(12)]
    if lowercase:
        question = question[:-4].lower() + question[-4:]
    return name, qid, [answer(qid, flags, question, CORRECT)]


def serve_udp(sock, lowercase):
    while True:
        wire, client = sock.recvfrom(4096)
        try:
            name, qid, replies = udp_replies(wire, lowercase)
        except (IndexError, struct.error) as error:
            log(f"unparsable udp query from {client}: {error}")
            continue
        log(f"query udp {name or '.'} id={qid:#06x} from {client[0]}#{client[1]}")
        for reply in replies:
            sock.sendto(reply, client)


def serve_tcp_connection(conn, client, lowercase):
    conn.settimeout(10)
    try:
        while True:
            prefix = conn.recv(2, socket.MSG_WAITALL)
            if len(prefix) < 2:
                return
            wire = conn.recv(struct.unpack("!H", prefix)[0], socket.MSG_WAITALL)
            qid, flags, name, question = parse(wire)
            log(f"query tcp {name or '.'} id={qid:#06x} from {client[0]}#{client[1]}")
            if lowercase:
                question = question[:-4].lower() + question[-4:]
            reply = answer(qid, flags, question, CORRECT)
            conn.sendall(struct.pack("!H", len(reply)) + reply)
    except (OSError, IndexError, struct.error) as error:
        log(f"tcp connection from {client[0]}#{client[1]}: {type(error).__name__}: {error}")
    finally:
        conn.close()


def serve_tcp(listener, lowercase):
    while True:
        conn, client = listener.accept()
        threading.Thread(target=serve_tcp_connection, args=(conn, client, lowercase), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--lowercase", action="store_true")
    args = parser.parse_args()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.address, 53))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, 53))
    listener.listen(16)
    threading.Thread(target=serve_tcp, args=(listener, args.lowercase), daemon=True).start()
    log(f"listening on {args.address}#53 (udp, tcp){' lowercasing' if args.lowercase else ''}")
    serve_udp(udp, args.lowercase)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
