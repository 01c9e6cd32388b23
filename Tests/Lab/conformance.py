#!/usr/bin/env python3
"""Differential conformance: the same queries to tproxy-dns and to a reference resolver.

    conformance.py probe SERVER SHAPE NAME TYPE [--tcp] [--port 53]
        one query of query_shapes.SHAPES; prints "rcode=.. flags=.. qd=.. an=.. opt=.."
    conformance.py run --spec FILE --allowlist FILE --tested V4 V6 --reference V4 V6 PORT
        the whole query set; prints each unexplained difference and the counts
        "conformance: Q queries, M matched, A allowed, U unexplained"; exit 1 if U > 0

Replies are compared field by field: rcode (extended), flags, question, answer, authority
and additional records (TTLs aside: two caches age them differently; record order aside),
and OPT (present, version, DO, extended rcode, options). Every difference must be matched
by a rule in the allowlist, which says why with an RFC reference.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import sys

import dns_wire
from query_shapes import SHAPES

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
         "DNAME": 39, "DS": 43, "ANY": 255}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}


def qtype(text):
    return text if isinstance(text, int) else TYPES[text]


def name_of_length(octets):
    """A name whose wire form is `octets` long (root octet included), under example.test's
    wildcard where it fits (so it exists), else made of 63-octet labels only."""
    if octets == 1:
        return "."
    suffix = "wild.example.test"
    room = octets - (len(dns_wire.name_wire(suffix)))
    labels = []
    if room < 2:
        labels, suffix = [], ""
        room = octets - 1
    while room > 0:
        size = min(63, room - 1)
        labels.append("l" * max(size, 1))
        room -= size + 1
    return ".".join(labels + ([suffix] if suffix else []))


def query_set(spec):
    """[(label, shape, name, type, transport)]: the spec expanded, in a fixed order."""
    cases = []
    records = spec["records"]
    for name in records["names"]:
        for text in records["types"]:
            cases.append((records["shape"], name, qtype(text)))
    for shape in SHAPES:
        names = spec["shapes"]["chaos_names"] if shape.startswith("chaos") else spec["shapes"]["names"]
        for entry in names:
            name, text = (entry, "TXT") if isinstance(entry, str) else entry
            cases.append((shape, name, qtype(text)))
    odd = spec["odd_names"]
    names = odd["names"] + [name_of_length(n) for n in odd["lengths"]]
    for name in names:
        for text in odd["types"]:
            cases.append(("edns", name, qtype(text)))
    for number in spec["meta_types"]:
        cases.append(("edns", "example.test", number))
    return [(shape, name, number, transport) for transport in spec["transports"] for shape, name, number in cases]


def comparable(reply):
    """The fields compared, from a parsed reply (None for no reply)."""
    if reply is None:
        return {"reply": "none"}
    if "short" in reply:
        return {"reply": "short"}
    fields = {"rcode": RCODES.get(reply["rcode"], reply["rcode"]), "flags": " ".join(reply["flags"]),
              "opcode": reply["opcode"],
              "question": [(n.lower(), t, c) for n, t, c in reply["question"]],
              "question-case": [n for n, _, _ in reply["question"]]}
    for section in ("answer", "authority", "additional"):
        fields[section] = sorted((o, t, c, rdata) for o, t, c, _, rdata in reply[section])
    opt = reply["opt"]
    fields["opt"] = "none" if opt is None else "v%d do=%d ext=%d" % (opt["version"], opt["do"], opt["ext_rcode"])
    fields["opt-options"] = [] if opt is None else sorted(code for code, _ in opt["options"])
    fields["malformed"] = reply.get("malformed", "")
    return fields


def allowed(rules, case, field, tested, reference):
    shape, name, number, transport = case
    for rule in rules:
        if field not in rule["fields"] and "*" not in rule["fields"]:
            continue
        if "shapes" in rule and shape not in rule["shapes"]:
            continue
        if "names" in rule and not any(fnmatch.fnmatchcase(name.lower(), p) for p in rule["names"]):
            continue
        if "types" in rule and number not in [qtype(t) for t in rule["types"]]:
            continue
        if "transports" in rule and transport not in rule["transports"]:
            continue
        if "tested" in rule and str(tested) not in rule["tested"]:
            continue
        if "reference" in rule and str(reference) not in rule["reference"]:
            continue
        return rule["id"]
    return None


def ask(target, case, qid, timeout):
    shape, name, number, transport = case
    wire = SHAPES[shape](qid, name, number)
    server = target[1] if transport == "udp6" else target[0]
    protocol = "tcp" if transport.startswith("tcp") else "udp"
    reply = dns_wire.exchange(server, target[2], wire, protocol, timeout)
    if reply is None:
        # One retry, for either side: Unbound now and then closes a TCP connection without
        # answering under this load, and a lost datagram is not a protocol difference.
        reply = dns_wire.exchange(server, target[2], wire, protocol, timeout)
    return comparable(None if reply is None else dns_wire.parse(reply))


def run(args):
    spec = json.load(open(args.spec))
    rules = json.load(open(args.allowlist))["rules"]
    cases = query_set(spec)
    tested = (args.tested[0], args.tested[1], 53)
    reference = (args.reference[0], args.reference[1], int(args.reference[2]))

    def one(index):
        case = cases[index]
        qid = 0x1000 + index
        return case, ask(tested, case, qid, args.timeout), ask(reference, case, qid, args.timeout)

    counts = {"matched": 0, "allowed": 0, "unexplained": 0}
    used = set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        results = list(pool.map(one, range(len(cases))))
    for case, mine, theirs in results:
        differing = sorted(set(mine) | set(theirs))
        differing = [f for f in differing if mine.get(f) != theirs.get(f)]
        if not differing:
            counts["matched"] += 1
            continue
        unexplained = []
        for field in differing:
            rule = allowed(rules, case, field, mine.get(field), theirs.get(field))
            if rule:
                used.add(rule)
            else:
                unexplained.append(field)
        if unexplained:
            counts["unexplained"] += 1
            print("DIFF %s %s type=%s %s" % (case[0], case[1], case[2], case[3]))
            for field in unexplained:
                print("     %-12s tproxy-dns=%s reference=%s" % (field, mine.get(field), theirs.get(field)))
        else:
            counts["allowed"] += 1
    unused = [rule["id"] for rule in rules if rule["id"] not in used]
    if unused:
        print("allowlist rules no difference needed: " + ", ".join(unused))
    print("conformance: %d queries, %d matched, %d allowed, %d unexplained"
          % (len(cases), counts["matched"], counts["allowed"], counts["unexplained"]))
    return 1 if counts["unexplained"] else 0


def probe(args):
    wire = SHAPES[args.shape](0xBEEF, args.name, qtype(args.type) if not args.type.isdigit() else int(args.type))
    reply = dns_wire.exchange(args.server, args.port, wire, "tcp" if args.tcp else "udp", args.timeout)
    if reply is None:
        print("no reply")
        return 0
    parsed = dns_wire.parse(reply)
    opt = parsed.get("opt")
    print("rcode=%s flags=%s qd=%d an=%d opt=%s" % (
        RCODES.get(parsed["rcode"], parsed["rcode"]), ",".join(parsed["flags"]), len(parsed["question"]),
        len(parsed["answer"]), "none" if opt is None else ("do" if opt["do"] else "nodo")))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe")
    p.add_argument("server")
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("name")
    p.add_argument("type")
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--timeout", type=float, default=2.0)
    r = sub.add_parser("run")
    r.add_argument("--spec", required=True)
    r.add_argument("--allowlist", required=True)
    r.add_argument("--tested", nargs=2, required=True, metavar=("V4", "V6"))
    r.add_argument("--reference", nargs=3, required=True, metavar=("V4", "V6", "PORT"))
    r.add_argument("--timeout", type=float, default=1.5)
    r.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    return probe(args) if args.command == "probe" else run(args)


if __name__ == "__main__":
    sys.exit(main())
