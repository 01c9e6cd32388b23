"""DNS messages as the conformance tests need them: built byte by byte (so a test can make
any malformed shape it wants) and parsed into plain values for field-by-field comparison.
No dnspython: the point is to send what a library would refuse to build.
"""

import socket
import struct

RD, CD, AD, TC = 0x0100, 0x0010, 0x0020, 0x0200
FLAG_NAMES = [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"),
              (0x0040, "z"), (0x0020, "ad"), (0x0010, "cd")]
CLASS_IN, CLASS_CH = 1, 3


def name_wire(name):
    """Presentation name (RFC 1035 escapes \\. \\\\ \\DDD) to wire octets."""
    if name in ("", "."):
        return b"\x00"
    labels, label, i = [], bytearray(), 0
    while i < len(name):
        c = name[i]
        if c == "\\":
            if name[i + 1:i + 4].isdigit() and len(name[i + 1:i + 4]) == 3:
                label.append(int(name[i + 1:i + 4]))
                i += 4
                continue
            label += name[i + 1].encode()
            i += 2
            continue
        if c == ".":
            labels.append(bytes(label))
            label = bytearray()
        else:
            label += c.encode()
        i += 1
    if label:
        labels.append(bytes(label))
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"


def opt_record(udp=1232, version=0, do=False, ext_rcode=0, flags=0, options=b"", owner=b"\x00",
               rdlength=None):
    ttl = ext_rcode << 24 | version << 16 | (0x8000 if do else 0) | flags
    length = len(options) if rdlength is None else rdlength
    return owner + struct.pack("!HHIH", 41, udp, ttl, length) + options


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def header(qid, flags, qd=1, an=0, ns=0, ar=0, opcode=0, rcode=0):
    return struct.pack("!HHHHHH", qid, flags | opcode << 11 | rcode, qd, an, ns, ar)


def query(qid, name, qtype, qclass=CLASS_IN, flags=RD, opt=None):
    """A plain query; `opt` is an OPT record's bytes or None."""
    wire = header(qid, flags, ar=1 if opt is not None else 0) + name_wire(name) + struct.pack("!HH", qtype, qclass)
    return wire + (opt or b"")


class Malformed(Exception):
    pass


def read_name(wire, offset):
    labels, end, jumps = [], None, 0
    while True:
        if offset >= len(wire):
            raise Malformed("name runs past the end")
        length = wire[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(wire) or jumps > 64:
                raise Malformed("bad pointer")
            end = offset + 2 if end is None else end
            offset = (length & 0x3F) << 8 | wire[offset + 1]
            jumps += 1
            continue
        if length == 0:
            return "." if not labels else ".".join(labels) + ".", (offset + 1 if end is None else end)
        label = wire[offset + 1:offset + 1 + length]
        labels.append("".join(chr(b) if 0x21 <= b <= 0x7E and b not in b".\\" else "\\%03d" % b for b in label))
        offset += 1 + length


def parse(wire):
    """A reply as a dict: id, flags (names), opcode, rcode (extended when OPT says so),
    question, sections (records as (owner lowercased, type, class, ttl, rdata hex)), opt."""
    if len(wire) < 12:
        return {"short": len(wire)}
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", wire, 0)
    out = {"id": qid, "flags": [n for bit, n in FLAG_NAMES if flags & bit], "opcode": flags >> 11 & 0xF,
           "rcode": flags & 0xF, "question": [], "answer": [], "authority": [], "additional": [], "opt": None}
    offset = 12
    try:
        for _ in range(qd):
            qname, offset = read_name(wire, offset)
            qtype, qclass = struct.unpack_from("!HH", wire, offset)
            offset += 4
            out["question"].append((qname, qtype, qclass))
        for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
            for _ in range(count):
                owner, offset = read_name(wire, offset)
                rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", wire, offset)
                offset += 10
                rdata = wire[offset:offset + rdlength]
                offset += rdlength
                if rtype == 41:
                    out["opt"] = {"udp": rclass, "ext_rcode": ttl >> 24, "version": ttl >> 16 & 0xFF,
                                  "do": bool(ttl & 0x8000), "options": parse_options(rdata)}
                    out["rcode"] |= (ttl >> 24) << 4
                    continue
                out[section].append((owner.lower(), rtype, rclass, ttl, rdata.hex()))
    except (Malformed, struct.error) as error:
        out["malformed"] = str(error)
    return out


def parse_options(rdata):
    options, offset = [], 0
    while offset + 4 <= len(rdata):
        code, length = struct.unpack_from("!HH", rdata, offset)
        options.append((code, rdata[offset + 4:offset + 4 + length].hex()))
        offset += 4 + length
    return options


def exchange(server, port, wire, transport, timeout):
    """Sends one query; the reply's bytes, or None on timeout/closed connection."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            if transport == "udp":
                sock.sendto(wire, (server, port))
                return sock.recvfrom(65535)[0]
            sock.connect((server, port))
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            prefix = recv_exactly(sock, 2)
            return recv_exactly(sock, struct.unpack("!H", prefix)[0]) if prefix else None
        except (socket.timeout, ConnectionError, OSError):
            return None


def recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
