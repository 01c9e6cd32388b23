#!/usr/bin/env python3
"""Writes Tests/RawUDPTests/ScapyVectors.swift: IPv4/UDP and IPv6/UDP datagrams
built by scapy, against which RawUDP's UDPDatagramBuilder is checked byte for byte.

Run from anywhere (needs `pip install scapy`):

    python3 Tests/RawUDPTests/Vectors/make_vectors.py

Scapy is the independent implementation: it fills in lengths and both checksums
itself (and, per RFC 768, sends a UDP checksum that computes to 0 as 0xFFFF). The
header fields we fix are the ones the builder writes: IPv4 IHL 5, TOS 0, DF,
TTL/hop limit as given, protocol 17; IPv6 traffic class 0 and flow label 0.

Only documentation addresses appear (RFC 5737, RFC 3849).
"""

import pathlib
import platform
import socket
import sys

import scapy
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "ScapyVectors.swift"

# Payloads up to this size are committed as hex; larger ones as the pattern recipe.
LITERAL_LIMIT = 128
# bytes(i % PATTERN_MODULUS for i in range(n)): a prime, so the pattern does not
# line up with the 8-byte chunks the checksum sums.
PATTERN_MODULUS = 251


def pattern(count):
    return bytes(i % PATTERN_MODULUS for i in range(count))


def dns_reply(query_id, ipv6):
    """A typical recursive answer: one question, one A/AAAA record, an EDNS OPT."""
    qtype = "AAAA" if ipv6 else "A"
    rdata = "2001:db8::80" if ipv6 else "192.0.2.80"
    packet = DNS(
        id=query_id, qr=1, rd=1, ra=1,
        qd=DNSQR(qname="example.com", qtype=qtype),
        an=DNSRR(rrname="example.com", type=qtype, ttl=300, rdata=rdata),
        ar=DNSRROPT(rclass=1232, z=0),
    )
    return bytes(packet.compress())


def ones_complement_sum(data):
    """RFC 1071, naively: a cross-check on scapy, not a replacement for it."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def build(src, sport, dst, dport, payload, hop_limit, ident):
    if ":" in src:
        packet = IPv6(src=src, dst=dst, tc=0, fl=0, hlim=hop_limit) / UDP(sport=sport, dport=dport)
    else:
        packet = IP(src=src, dst=dst, tos=0, id=ident, flags="DF", ttl=hop_limit) / UDP(sport=sport, dport=dport)
    if payload:
        packet = packet / Raw(load=payload)
    return bytes(packet)


def udp_checksum_sum(src, dst, udp):
    """Our own RFC 1071 sum over the pseudo-header and the UDP datagram (checksum
    field zeroed); 0xFFFF means the checksum computes to 0."""
    udp = bytearray(udp)
    udp[6:8] = b"\x00\x00"
    if ":" in src:
        addresses = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        # RFC 8200 section 8.1: 32-bit upper-layer length, 24 zero bits, next header.
        pseudo = addresses + len(udp).to_bytes(4, "big") + (17).to_bytes(4, "big")
    else:
        addresses = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
        pseudo = addresses + (17).to_bytes(2, "big") + len(udp).to_bytes(2, "big")
    return ones_complement_sum(pseudo + bytes(udp))


def find_zero_checksum_dns_id(src, sport, dst, dport, hop_limit, ident):
    """The first DNS ID for which scapy sends UDP checksum 0xFFFF (a computed 0).
    The cheap sum above walks the IDs; scapy has the last word on each candidate."""
    ip_length = 40 if ":" in src else 20
    template = dns_reply(0, ":" in src)
    for query_id in range(0x10000):
        payload = query_id.to_bytes(2, "big") + template[2:]
        udp = bytes(UDP(sport=sport, dport=dport, len=8 + len(payload), chksum=0)) + payload
        if udp_checksum_sum(src, dst, udp) != 0xFFFF:
            continue
        datagram = build(src, sport, dst, dport, payload, hop_limit, ident)
        if datagram[ip_length + 6:ip_length + 8] == b"\xff\xff":
            assert payload == dns_reply(query_id, ":" in src)
            return query_id
    sys.exit(f"no DNS ID gives a zero UDP checksum for {src} -> {dst}")


CASES = []


def case(name, src, sport, dst, dport, payload, *, hop_limit=64, ident=0):
    CASES.append(dict(name=name, src=src, sport=sport, dst=dst, dport=dport, payload=payload,
                      hop_limit=hop_limit, ident=ident))


def define_cases():
    v4a, v4b, v4c = "192.0.2.53", "198.51.100.7", "203.0.113.254"
    v6a, v6b, v6c = "2001:db8::53", "2001:db8:1:2:3:4:5:6", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"

    for family, (a, b, c) in (("v4", (v4a, v4b, v4c)), ("v6", (v6a, v6b, v6c))):
        ipv6 = family == "v6"
        maximum = 65527 if ipv6 else 65507
        case(f"{family} empty payload", a, 53, b, 54321, b"")
        case(f"{family} 1-byte payload", a, 53, b, 54321, b"\xab", ident=0x1234)
        case(f"{family} 3-byte payload", c, 5353, a, 5353, b"\x01\x02\x03")
        case(f"{family} 7-byte payload, ports 0 and 65535", b, 0, c, 65535, b"\xff" * 7, ident=0xFFFF)
        case(f"{family} 9-byte payload, one chunk and a byte", a, 853, c, 1024, pattern(9))
        case(f"{family} DNS reply", a, 53, b, 40000, dns_reply(0xBEEF, ipv6), ident=0x1A2B)
        case(f"{family} DNS reply, hop limit 255", c, 53, a, 33333, dns_reply(0x0001, ipv6), hop_limit=255)
        case(f"{family} DNS reply, hop limit 1", b, 53, c, 60000, dns_reply(0xFFFF, ipv6), hop_limit=1, ident=1)
        case(f"{family} 63-byte payload", b, 53, a, 12345, pattern(63))
        case(f"{family} 512-byte payload", a, 53, c, 1053, pattern(512), ident=0x8000)
        case(f"{family} 1232-byte payload", a, 53, b, 49152, pattern(1232))
        case(f"{family} 1233-byte payload", b, 53, a, 49153, pattern(1233), ident=0x4242)
        case(f"{family} 4096-byte payload", a, 53, b, 5353, pattern(4096), ident=0x0F0F)
        case(f"{family} maximum payload {maximum}", c, 53, b, 65000, pattern(maximum), ident=0xFFFE)
        case(f"{family} maximum payload {maximum}, port 53 to 53", a, 53, b, 53, pattern(maximum))

        zero_id = find_zero_checksum_dns_id(a, 53, c, 50000, 64, 0x7777)
        case(f"{family} DNS reply with ID 0x{zero_id:04x}: UDP checksum computes to 0",
             a, 53, c, 50000, dns_reply(zero_id, ipv6), ident=0x7777)


def swift_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render():
    lines = [
        "// GENERATED by Tests/RawUDPTests/Vectors/make_vectors.py: do not edit by hand.",
        f"// scapy {scapy.__version__} on Python {platform.python_version()}. To regenerate:",
        "//     pip install scapy && python3 Tests/RawUDPTests/Vectors/make_vectors.py",
        "//",
        "// Each vector is a datagram scapy built as IP(...)/UDP(...)/Raw(payload), scapy filling",
        "// in lengths and both checksums: RawUDP's UDPDatagramBuilder must match them byte for byte.",
        "",
        "/// A payload as the vectors describe it.",
        "enum ScapyPayload: Sendable {",
        "    /// These bytes, in hex.",
        "    case hex(String)",
        f"    /// `bytes(i % {PATTERN_MODULUS} for i in range(count))`: too large to commit, cheap to rebuild.",
        "    case pattern(count: Int)",
        "}",
        "",
        "struct ScapyVector: Sendable {",
        "    var name: String",
        "    var source: String",
        "    var sourcePort: UInt16",
        "    var destination: String",
        "    var destinationPort: UInt16",
        "    var hopLimit: UInt8",
        "    /// Ignored for IPv6.",
        "    var ipv4Identification: UInt16",
        "    var payload: ScapyPayload",
        "    /// The IP and UDP headers scapy wrote, in hex; the datagram is these, then the payload.",
        "    var headers: String",
        "    /// The UDP checksum computed to 0 and so is sent as 0xFFFF (RFC 768, RFC 8200 8.1).",
        "    var checksumComputedZero: Bool",
        "}",
        "",
        f"let scapyPatternModulus = {PATTERN_MODULUS}",
        "",
        "let scapyVectors: [ScapyVector] = [",
    ]
    for c in CASES:
        datagram = build(c["src"], c["sport"], c["dst"], c["dport"], c["payload"], c["hop_limit"], c["ident"])
        header_length = 48 if ":" in c["src"] else 28
        headers, body = datagram[:header_length], datagram[header_length:]
        assert body == c["payload"], c["name"]
        zero = udp_checksum_sum(c["src"], c["dst"], datagram[header_length - 8:]) == 0xFFFF
        # Scapy and our sum agree, and a computed 0 went out as 0xFFFF.
        assert zero == (headers[-2:] == b"\xff\xff"), c["name"]
        if len(c["payload"]) <= LITERAL_LIMIT:
            payload = f".hex({swift_string(c['payload'].hex())})"
        else:
            assert c["payload"] == pattern(len(c["payload"])), c["name"]
            payload = f".pattern(count: {len(c['payload'])})"
        lines += [
            "    ScapyVector(",
            f"        name: {swift_string(c['name'])},",
            f"        source: {swift_string(c['src'])}, sourcePort: {c['sport']},",
            f"        destination: {swift_string(c['dst'])}, destinationPort: {c['dport']},",
            f"        hopLimit: {c['hop_limit']}, ipv4Identification: 0x{c['ident']:04X},",
            f"        payload: {payload},",
            f"        headers: {swift_string(headers.hex())},",
            f"        checksumComputedZero: {'true' if zero else 'false'}",
            "    ),",
        ]
    lines += ["]", ""]
    return "\n".join(lines)


def main():
    define_cases()
    OUTPUT.write_text(render())
    print(f"wrote {len(CASES)} vectors to {OUTPUT}")


if __name__ == "__main__":
    main()
