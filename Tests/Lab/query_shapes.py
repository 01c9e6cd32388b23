"""Query shapes the conformance tests send: each a function (id, name, qtype) -> wire bytes.
Used one at a time by `conformance.py probe` (Tests/Lab/protocol_test.sh) and in bulk by the
differential run (Tests/Lab/conformance_test.sh), so both test exactly the same bytes.
"""

import struct

from dns_wire import (AD, CD, CLASS_CH, CLASS_IN, RD, TC, header, name_wire, opt_record, option,
                      query)

COOKIE = option(10, bytes(range(8)))  # a client cookie (RFC 7873 4)


def question(name, qtype, qclass=CLASS_IN):
    return name_wire(name) + struct.pack("!HH", qtype, qclass)


def with_header(qid, flags=RD, qd=1, ar=0, opcode=0, body=b""):
    return header(qid, flags, qd=qd, ar=ar, opcode=opcode) + body


SHAPES = {
    # Flags.
    "plain": lambda i, n, t: query(i, n, t),
    "edns": lambda i, n, t: query(i, n, t, opt=opt_record()),
    "edns-do": lambda i, n, t: query(i, n, t, opt=opt_record(do=True)),
    "cd": lambda i, n, t: query(i, n, t, flags=RD | CD),
    "cd-edns-do": lambda i, n, t: query(i, n, t, flags=RD | CD, opt=opt_record(do=True)),
    "ad": lambda i, n, t: query(i, n, t, flags=RD | AD, opt=opt_record()),
    "rd0": lambda i, n, t: query(i, n, t, flags=0),
    "tc-in-query": lambda i, n, t: query(i, n, t, flags=RD | TC),
    "z-bit": lambda i, n, t: query(i, n, t, flags=RD | 0x0040),
    # EDNS corners (RFC 6891, 3225, 7873, 7830).
    "edns-512": lambda i, n, t: query(i, n, t, opt=opt_record(udp=512)),
    "edns-small": lambda i, n, t: query(i, n, t, opt=opt_record(udp=100)),
    "edns-4096": lambda i, n, t: query(i, n, t, opt=opt_record(udp=4096)),
    "cookie": lambda i, n, t: query(i, n, t, opt=opt_record(options=COOKIE)),
    "padding": lambda i, n, t: query(i, n, t, opt=opt_record(options=option(12, bytes(32)))),
    "unknown-option": lambda i, n, t: query(i, n, t, opt=opt_record(options=option(65001, b"xyz"))),
    "unknown-edns-flag": lambda i, n, t: query(i, n, t, opt=opt_record(flags=0x0001)),
    "badvers": lambda i, n, t: query(i, n, t, opt=opt_record(version=1)),
    "badvers-do": lambda i, n, t: query(i, n, t, opt=opt_record(version=1, do=True)),
    "two-opt": lambda i, n, t: with_header(i, ar=2, body=question(n, t) + opt_record() + opt_record(do=True)),
    # A cookie option claiming 8 octets with 4 present: the option, not the record, is cut.
    "opt-cut-short": lambda i, n, t: query(i, n, t, opt=opt_record(do=True, options=struct.pack("!HH", 10, 8)
                                                                   + b"\x01\x02\x03\x04")),
    "opt-odd-owner": lambda i, n, t: query(i, n, t, opt=opt_record(owner=name_wire("odd.test"))),
    "opt-in-answer": lambda i, n, t: header(i, RD, an=1) + question(n, t) + opt_record(),
    # Header and question shapes.
    "opcode-notify": lambda i, n, t: with_header(i, flags=0, opcode=4, ar=1, body=question(n, 6) + opt_record()),
    "opcode-update": lambda i, n, t: with_header(i, flags=0, opcode=5, ar=1, body=question(n, 6) + opt_record()),
    "opcode-status": lambda i, n, t: with_header(i, opcode=2, ar=1, body=question(n, t) + opt_record()),
    "opcode-3": lambda i, n, t: with_header(i, opcode=3, body=question(n, t)),
    "qd0-opt": lambda i, n, t: with_header(i, qd=0, ar=1, body=opt_record()),
    "qd2-opt": lambda i, n, t: with_header(i, qd=2, ar=1, body=question(n, t) + question(n, t) + opt_record()),
    "trailing-bytes": lambda i, n, t: query(i, n, t) + b"\xde\xad",
    "cut-question": lambda i, n, t: query(i, n, t)[:-3],
    "label-past-end": lambda i, n, t: with_header(i, body=b"\x3fabc"),
    "compressed-qname": lambda i, n, t: with_header(i, body=b"\xc0\x0c" + struct.pack("!HH", t, 1)),
    "arcount-lies": lambda i, n, t: with_header(i, ar=1, body=question(n, t)),
    "qclass-any": lambda i, n, t: with_header(i, body=question(n, t, 255)),
    "chaos": lambda i, n, t: with_header(i, ar=1, body=question(n, 16, CLASS_CH) + opt_record(do=True)),
    "chaos-cd": lambda i, n, t: with_header(i, flags=RD | CD, body=question(n, 16, CLASS_CH)),
}
