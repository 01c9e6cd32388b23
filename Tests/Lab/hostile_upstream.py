#!/usr/bin/env python3
"""A hostile DNS upstream for the lab (stdlib only): UDP and TCP on ADDRESS port 53.

    hostile_upstream.py ADDRESS [--port 53]

Answers A queries for any name; the first label's text up to the first '-' picks how it
misbehaves, e.g. wrongid-1.hostile.test. The right answer is A 198.51.100.77 (TTL 300);
poisoned data is always A 192.0.2.66, which must never reach a client. Modes:

    ok          the right answer (with AA set and RA clear, as an authoritative server would)
    wrongid     only a reply with another ID (poison)
    wrongq      only a reply with the right ID for another name (poison)
    wrongtype   only a reply with the right ID and name but qtype TXT
    notreply    only a message with QR=0 (poison)
    garbage     only random bytes after the right ID
    short       only 7 bytes: the right ID and part of a header
    countlie    only a reply claiming ANCOUNT=20 with one record
    ptrloop     only a reply whose answer owner is a compression pointer to itself
    trailing    only the right answer followed by 40 bytes of junk (a poison record)
    oversize    only the right answer padded to 4000 bytes with additional TXT records
    wrongport   only a poison reply from another source port (a second socket)
    spoof       poison with a wrong ID, wrong question, QR=0, garbage, trailing junk and
                from a wrong port, then the right answer
    servfail    SERVFAIL
    refused     REFUSED
    noopt       the right answer without OPT, though the query had one (RFC 6891 7 says MUST)
    nodo        the right answer with an OPT whose DO bit is clear, though the query set it
                (RFC 3225 3 says the DO bit MUST be copied)
    nxnosoa     NXDOMAIN without an SOA (a negative that must not be cached)
    nxsoamin    NXDOMAIN, SOA with TTL 600 and MINIMUM 3: cacheable for 3 s (RFC 2308)
    nxsoattl    NXDOMAIN, SOA with TTL 3 and MINIMUM 600: cacheable for 3 s
    tc          UDP: TC=1 and no records; TCP: the right answer
    tcpartial   UDP: TC=1 with the right record in it; TCP: the right answer
    tctc        UDP: TC=1; TCP: the right answer, but with TC=1 set again
    tcbig       UDP: TC=1; TCP: the right answer padded to a 65535-byte message
    tcpoison    UDP: TC=1; TCP: a reply with another ID (poison), then close
    tcgarbage   UDP: TC=1; TCP: a length prefix of 65535 and 100 random bytes, then close
    tchalf      UDP: TC=1; TCP: one byte of a length prefix, then silence until closed
    ttl1        the right answer with TTL 1
    silent      no reply at all, ever: a name whose servers never answer
    dropfirst   UDP: the first copy of each question is lost (no reply), the next answered
                right (a datagram dropped on the way, as a busy server's full socket does)
    lowercase   the right answer, the question's name lower-cased (as some servers do)
    uppercase   the right answer, the question's name upper-cased
    (other)     as ok

A query for ". NS" (the daemon's health probe) gets a NOERROR reply with no records.
Every query is logged on stdout:
    query udp|tcp NAME TYPE id=0x.... edns=SIZE|none do=0|1 from ADDRESS#PORT
"""

import argparse
import random
import socket
import struct
import sys
import threading
import time

CORRECT = bytes([198, 51, 100, 77])
POISON = bytes([192, 0, 2, 66])
QR, AA, TC, RA = 0x8000, 0x0400, 0x0200, 0x0080
junk = random.Random(66)


def log(line):
    print(line, flush=True)


def encode_name(name):
    wire = b""
    for label in name.rstrip(".").split("."):
        if label:
            wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00"


class Query:
    def __init__(self, wire):
        self.wire = wire
        self.id, self.flags, qdcount = struct.unpack_from("!HHH", wire, 0)
        if qdcount != 1:
            raise ValueError("qdcount != 1")
        offset, labels = 12, []
        while wire[offset]:
            length = wire[offset]
            labels.append(wire[offset + 1:offset + 1 + length].decode("ascii", "replace"))
            offset += 1 + length
        self.question = wire[12:offset + 5]  # as received: case kept
        self.name = ".".join(labels).lower()
        self.qtype, self.qclass = struct.unpack_from("!HH", wire, offset + 1)
        self.mode = labels[0].lower().split("-")[0] if labels else ""
        self.edns = struct.unpack_from("!H", wire, 10)[0] > 0
        self.edns_size, self.do = None, 0
        opt = offset + 5
        # The first additional record, if it is an OPT (RFC 6891): root name, type 41.
        if self.edns and wire[opt:opt + 3] == b"\x00\x00\x29":
            self.edns_size, _, _, edns_flags = struct.unpack_from("!HBBH", wire, opt + 3)
            self.do = edns_flags >> 15

    def describe(self):
        return (f"{self.name or '.'} {self.qtype} id={self.id:#06x} "
                f"edns={self.edns_size or 'none'} do={self.do}")


def header(qid, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
OPT_DO = b"\x00" + struct.pack("!HHBBHH", 41, 1232, 0, 0, 0x8000, 0)


def a_record(rdata, owner=b"\xc0\x0c", ttl=300):
    return owner + struct.pack("!HHIH", 1, 1, ttl, 4) + rdata


def txt_record(owner, text):
    return owner + struct.pack("!HHIH", 16, 1, 300, len(text) + 1) + bytes([len(text)]) + text


def reply(q, answers=(), rcode=0, flags=QR | AA, qid=None, question=None, extra=(), edns=None, do=None):
    """A response to q; answers and extra are encoded records. OPT as the query had it."""
    edns = q.edns if edns is None else edns
    do = q.do if do is None else do
    additional = list(extra) + ([OPT_DO if do else OPT] if edns else [])
    return (header(q.id if qid is None else qid, flags | (q.flags & 0x0100) | rcode,
                   1, len(answers), 0, len(additional))
            + (q.question if question is None else question) + b"".join(answers) + b"".join(additional))


def right(q):
    if q.qtype == 1:
        return reply(q, [a_record(CORRECT)])
    return reply(q)  # NODATA without SOA: not cacheable, but a valid reply


def soa_record(ttl, minimum):
    rdata = encode_name("ns.hostile.test") + encode_name("hostmaster.hostile.test")
    rdata += struct.pack("!IIIII", 1, 7200, 900, 1209600, minimum)
    return encode_name("hostile.test") + struct.pack("!HHIH", 6, 1, ttl, len(rdata)) + rdata


def negative(q, soa_ttl, minimum):
    edns = [OPT] if q.edns else []
    return (header(q.id, QR | AA | (q.flags & 0x0100) | 3, 1, 0, 1, len(edns)) + q.question
            + soa_record(soa_ttl, minimum) + b"".join(edns))


def padded(q, size):
    """The right answer with TXT records for pad.hostile.test in additional, to about size."""
    records, base = [], len(reply(q, [a_record(CORRECT)]))
    owner = encode_name("pad.hostile.test")
    while base + sum(map(len, records)) + 255 + len(owner) + 10 + 1 <= size:
        records.append(txt_record(owner, bytes([0x61 + len(records) % 26]) * 255))
    rest = size - base - sum(map(len, records)) - len(owner) - 10 - 1
    if rest > 0:
        records.append(txt_record(owner, b"z" * rest))
    return reply(q, [a_record(CORRECT)], extra=records)


def poison_wrong_id(q):
    return reply(q, [a_record(POISON)], qid=q.id ^ 0x5A5A)


def poison_wrong_question(q):
    return reply(q, [a_record(POISON)], question=encode_name("poison.hostile.test") + struct.pack("!HH", 1, 1))


def poison_not_reply(q):
    return reply(q, [a_record(POISON)], flags=AA)


def garbage(q):
    return struct.pack("!H", q.id) + bytes(junk.getrandbits(8) for _ in range(100))


def trailing(q):
    return right(q) + a_record(POISON) + bytes(24)


# dropfirst: the questions whose first copy was dropped.
DROPPED_ONCE = set()


def udp_replies(q):
    """[(delay, payload, from_wrong_port)] for a UDP query."""
    m = q.mode
    if q.name == "" and q.qtype == 2:
        return [(0, reply(q), False)]
    if m == "silent":
        return []
    if m == "dropfirst":
        question = (q.name.lower(), q.qtype)
        if question not in DROPPED_ONCE:
            DROPPED_ONCE.add(question)
            return []
        return [(0, right(q), False)]
    if m == "wrongid":
        return [(0, poison_wrong_id(q), False)]
    if m == "wrongq":
        return [(0, poison_wrong_question(q), False)]
    if m == "wrongtype":
        return [(0, reply(q, [txt_record(b"\xc0\x0c", b"poison 192.0.2.66")],
                          question=q.question[:-4] + struct.pack("!HH", 16, 1)), False)]
    if m == "notreply":
        return [(0, poison_not_reply(q), False)]
    if m == "garbage":
        return [(0, garbage(q), False)]
    if m == "short":
        return [(0, struct.pack("!H", q.id) + b"\x81\x80\x00\x01\x00", False)]
    if m == "countlie":
        wire = bytearray(reply(q, [a_record(CORRECT)], edns=False))
        struct.pack_into("!H", wire, 6, 20)
        return [(0, bytes(wire), False)]
    if m == "ptrloop":
        # The answer's owner points at itself: a parser that follows it never ends.
        start = 12 + len(q.question)
        owner = struct.pack("!H", 0xC000 | start)
        return [(0, reply(q, [a_record(POISON, owner=owner)], edns=False), False)]
    if m == "trailing":
        return [(0, trailing(q), False)]
    if m == "oversize":
        return [(0, padded(q, 4000), False)]
    if m == "wrongport":
        return [(0, reply(q, [a_record(POISON)]), True)]
    if m == "spoof":
        bad = [poison_wrong_id(q), poison_wrong_question(q), poison_not_reply(q), garbage(q), trailing(q)]
        return ([(0.02, wire, False) for wire in bad]
                + [(0.02, reply(q, [a_record(POISON)]), True), (0.05, right(q), False)])
    if m == "servfail":
        return [(0, reply(q, rcode=2, flags=QR), False)]
    if m == "refused":
        return [(0, reply(q, rcode=5, flags=QR), False)]
    if m == "ttl1":
        return [(0, reply(q, [a_record(CORRECT, ttl=1)]), False)]
    if m == "noopt":
        return [(0, reply(q, [a_record(CORRECT)], edns=False), False)]
    if m == "nodo":
        return [(0, reply(q, [a_record(CORRECT)], do=0), False)]
    if m == "nxnosoa":
        return [(0, reply(q, rcode=3), False)]
    if m == "nxsoamin":
        return [(0, negative(q, 600, 3), False)]
    if m == "nxsoattl":
        return [(0, negative(q, 3, 600), False)]
    if m == "tcpartial":
        return [(0, reply(q, [a_record(CORRECT)], flags=QR | AA | TC), False)]
    if m.startswith("tc"):
        return [(0, reply(q, flags=QR | AA | TC), False)]
    if m in ("lowercase", "uppercase"):
        name = q.question[:-4]
        name = name.lower() if m == "lowercase" else name.upper()  # length bytes are < 0x40
        return [(0, reply(q, [a_record(CORRECT)], question=name + q.question[-4:]), False)]
    return [(0, right(q), False)]


def serve_udp(sock, wrong_port_sock):
    while True:
        wire, client = sock.recvfrom(65535)
        try:
            q = Query(wire)
        except (ValueError, IndexError, struct.error) as error:
            log(f"unparsable udp query from {client}: {error}")
            continue
        log(f"query udp {q.describe()} from {client[0]}#{client[1]}")
        for delay, payload, wrong_port in udp_replies(q):
            if delay:
                time.sleep(delay)
            (wrong_port_sock if wrong_port else sock).sendto(payload, client)


def tcp_reply(conn, q):
    m = q.mode
    frame = lambda wire: struct.pack("!H", len(wire)) + wire  # noqa: E731
    if m == "tcbig":
        conn.sendall(frame(padded(q, 65535)))
    elif m == "tctc":
        conn.sendall(frame(reply(q, [a_record(CORRECT)], flags=QR | AA | TC)))
    elif m == "tcpoison":
        conn.sendall(frame(poison_wrong_id(q)))
        return False
    elif m == "tcgarbage":
        conn.sendall(b"\xff\xff" + bytes(junk.getrandbits(8) for _ in range(100)))
        return False
    elif m == "tchalf":
        conn.sendall(b"\x00")
        conn.settimeout(30)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
        return False
    else:
        conn.sendall(frame(right(q) if q.name or q.qtype != 2 else reply(q)))
    return True


def serve_tcp_connection(conn, client):
    conn.settimeout(10)
    try:
        while True:
            prefix = conn.recv(2, socket.MSG_WAITALL)
            if len(prefix) < 2:
                return
            (length,) = struct.unpack("!H", prefix)
            wire = conn.recv(length, socket.MSG_WAITALL)
            q = Query(wire)
            log(f"query tcp {q.describe()} from {client[0]}#{client[1]}")
            if not tcp_reply(conn, q):
                return
    except (OSError, ValueError, IndexError, struct.error) as error:
        log(f"tcp connection from {client[0]}#{client[1]}: {type(error).__name__}: {error}")
    finally:
        conn.close()


def serve_tcp(listener):
    while True:
        conn, client = listener.accept()
        threading.Thread(target=serve_tcp_connection, args=(conn, client), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((args.address, args.port))
    wrong_port = socket.socket(family, socket.SOCK_DGRAM)
    wrong_port.bind((args.address, 0))
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.address, args.port))
    listener.listen(64)
    threading.Thread(target=serve_tcp, args=(listener,), daemon=True).start()
    log(f"listening on {args.address}#{args.port} (udp, tcp); wrong port {wrong_port.getsockname()[1]}")
    serve_udp(udp, wrong_port)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
