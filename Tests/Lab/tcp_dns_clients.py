#!/usr/bin/env python3
"""DNS-over-TCP client scenarios for the lab (stdlib only, every wait bounded).

    tcp_dns_clients.py SERVER concurrent [--clients 50] [--idle silent|half] [--idle-wait 8]
    tcp_dns_clients.py SERVER pipeline [--count 3]
    tcp_dns_clients.py SERVER limit --hold N
    tcp_dns_clients.py SERVER slowreader [--queries 300] [--hold 2]
    tcp_dns_clients.py SERVER malformed

concurrent  opens --clients connections at once; one of them is idle (silent: sends nothing;
            half: sends one byte of a length prefix), the others each send one query for
            a distinct wildcard name and read its answer. Then waits up to --idle-wait s for
            the server to close the idle one. Prints:
                answered 49 of 49
                idle connection (silent) closed by the server after 3.01 s
            or  idle connection (silent) still open after 8.00 s
pipeline    sends --count queries in one write on one connection, then reads as many
            answers. Prints one "answer id=0x.... name=... a=..." line per answer, then
                pipelined: 3 sent, 3 answered, ids match
limit       holds --hold idle connections open, then tries one more connection with a
            query; then closes the held ones and tries again. Prints:
                over the limit: closed without an answer      (or: answered)
                after releasing: answered                     (or: no answer (...))

slowreader  pipelines --queries queries for big.example.test TXT (about 1.7 KB answers each)
            on a connection with a small receive buffer and reads nothing for --hold s;
            meanwhile asks one query on a fresh connection. Then reads what the server
            still sends (until EOF or 2 s of silence). Prints:
                other client: answered in 0.01 s        (or: no answer (...))
                slow reader: read 41 answers, then EOF   (or: then silence)

malformed   on one connection each: an empty frame, a 5-byte frame, a response (QR=1), 40
            random bytes as a frame; each followed by a good query. Prints per case:
                malformed empty: then the good query answered     (or: connection closed / ...)
            and finally, on a fresh connection:
                fresh connection: answered

Names asked: tcp-<tag>-<n>.wild.example.test A (the lab zone's wildcard: 198.51.100.99).
"""

import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

TIMEOUT = 5.0


def encode_name(name):
    wire = b""
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00"


def query(qid, name, qtype=1):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)


def framed(message):
    return struct.pack("!H", len(message)) + message


def read_name(msg, offset):
    labels, jumped, end, hops = [], False, offset, 0
    while True:
        if offset >= len(msg) or hops > 64:
            raise ValueError("bad name")
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            pointer = ((length & 0x3F) << 8) | msg[offset + 1]
            if not jumped:
                end = offset + 2
            jumped, offset, hops = True, pointer, hops + 1
            continue
        if length == 0:
            if not jumped:
                end = offset + 1
            return ".".join(labels), end
        labels.append(msg[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length


def parse(msg):
    """ID, rcode, question name and the A records of the answer section."""
    qid, flags, qd, an = struct.unpack_from("!HHHH", msg, 0)
    offset, qname = 12, ""
    for _ in range(qd):
        qname, offset = read_name(msg, offset)
        offset += 4
    addresses = []
    for _ in range(an):
        _, offset = read_name(msg, offset)
        rtype, _, _, rdlength = struct.unpack_from("!HHIH", msg, offset)
        offset += 10
        if rtype == 1 and rdlength == 4:
            addresses.append(socket.inet_ntoa(msg[offset:offset + 4]))
        offset += rdlength
    return qid, flags & 0xF, qname, addresses


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def recv_message(sock):
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def connect(server):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect((server, 53))
    return sock


def ask(server, qid, name):
    """One query on a fresh connection; returns None on success or what went wrong."""
    try:
        with connect(server) as sock:
            sock.sendall(framed(query(qid, name)))
            rid, rcode, qname, addresses = parse(recv_message(sock))
    except (OSError, EOFError, ValueError, struct.error) as error:
        return f"{name}: {type(error).__name__}: {error}"
    if rid != qid or rcode != 0 or qname.lower() != name.lower() or addresses != ["198.51.100.99"]:
        return f"{name}: id={rid:#06x} (sent {qid:#06x}) rcode={rcode} question={qname} a={addresses}"
    return None


def concurrent(args):
    tag = f"{os.getpid()}-{args.idle}"
    start = threading.Barrier(args.clients, timeout=TIMEOUT)
    problems, answered, lock = [], [0], threading.Lock()
    idle_result = {}

    def idle_client():
        try:
            sock = connect(args.server)
        except OSError as error:
            idle_result["error"] = f"connect failed: {error}"
            start.wait()
            return
        if args.idle == "half":
            sock.sendall(b"\x00")
        opened = time.monotonic()
        start.wait()
        sock.settimeout(args.idle_wait)
        try:
            data = sock.recv(512)
            idle_result["closed_after"] = time.monotonic() - opened
            idle_result["data"] = data
        except socket.timeout:
            idle_result["open_after"] = time.monotonic() - opened
        except OSError as error:
            idle_result["closed_after"] = time.monotonic() - opened
            idle_result["error"] = str(error)
        sock.close()

    def busy_client(n):
        start.wait()
        problem = ask(args.server, random.randrange(65536), f"tcp-{tag}-{n}.wild.example.test")
        with lock:
            if problem:
                problems.append(problem)
            else:
                answered[0] += 1

    threads = [threading.Thread(target=idle_client)]
    threads += [threading.Thread(target=busy_client, args=(n,)) for n in range(1, args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.idle_wait + TIMEOUT + 5)
    print(f"answered {answered[0]} of {args.clients - 1}")
    for problem in problems[:5]:
        print(f"problem: {problem}")
    if "closed_after" in idle_result:
        extra = f" ({len(idle_result['data'])} bytes before EOF)" if idle_result.get("data") else ""
        extra += f" ({idle_result['error']})" if "error" in idle_result else ""
        print(f"idle connection ({args.idle}) closed by the server after {idle_result['closed_after']:.2f} s{extra}")
    elif "open_after" in idle_result:
        print(f"idle connection ({args.idle}) still open after {idle_result['open_after']:.2f} s")
    else:
        print(f"idle connection ({args.idle}): {idle_result.get('error', 'no result')}")
    return 0


def pipeline(args):
    tag = f"{os.getpid()}-pipe"
    sent = {}
    burst = b""
    for n in range(args.count):
        qid = 0x1000 + n * 0x111
        name = f"tcp-{tag}-{n}.wild.example.test"
        sent[qid] = name
        burst += framed(query(qid, name))
    problems, matched = [], 0
    try:
        with connect(args.server) as sock:
            sock.sendall(burst)  # one write: the queries arrive back-to-back
            for _ in range(args.count):
                rid, rcode, qname, addresses = parse(recv_message(sock))
                print(f"answer id={rid:#06x} rcode={rcode} name={qname} a={','.join(addresses)}")
                if sent.pop(rid, None) == qname and rcode == 0 and addresses == ["198.51.100.99"]:
                    matched += 1
                else:
                    problems.append(f"id={rid:#06x} name={qname}")
    except (OSError, EOFError, ValueError, struct.error) as error:
        problems.append(f"{type(error).__name__}: {error}")
    verdict = "ids match" if matched == args.count else "MISMATCH " + "; ".join(problems)
    print(f"pipelined: {args.count} sent, {matched} answered, {verdict}")
    return 0


def limit(args):
    held = []
    try:
        for _ in range(args.hold):
            held.append(connect(args.server))
        time.sleep(0.3)  # let the daemon accept them all before the extra one arrives
        problem = ask(args.server, 0x5151, f"tcp-{os.getpid()}-over.wild.example.test")
        print("over the limit: " + ("answered" if problem is None else f"closed without an answer ({problem})"))
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    problem = ask(args.server, 0x5252, f"tcp-{os.getpid()}-after.wild.example.test")
    print("after releasing: " + ("answered" if problem is None else f"no answer ({problem})"))
    return 0


def slowreader(args):
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    slow = socket.socket(family, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    slow.settimeout(TIMEOUT)
    slow.connect((args.server, 53))
    slow.sendall(b"".join(framed(query(n, "big.example.test", qtype=16)) for n in range(args.queries)))
    time.sleep(0.5)
    start = time.monotonic()
    problem = ask(args.server, 0x7777, f"tcp-{os.getpid()}-beside-slow.wild.example.test")
    took = time.monotonic() - start
    print("other client: " + (f"answered in {took:.2f} s" if problem is None else f"no answer ({problem})"))
    time.sleep(max(0.0, args.hold - 0.5 - took))
    answers, end = 0, "silence"
    slow.settimeout(2)
    try:
        while answers < args.queries:
            recv_message(slow)
            answers += 1
        end = "all answered"
    except EOFError:
        end = "EOF"
    except socket.timeout:
        end = "silence"
    except OSError as error:
        end = f"{type(error).__name__}: {error}"
    slow.close()
    print(f"slow reader: read {answers} answers, then {end}")
    return 0


def malformed(args):
    good_id = 0x6161
    cases = {
        "empty": framed(b""),
        "short": framed(b"\x12\x34\x01\x00\x00"),
        "response": framed(struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 0, 0, 0)
                           + encode_name("example.test") + struct.pack("!HH", 1, 1)),
        "random": framed(random.Random(53).randbytes(40)),
    }
    for case, frame in cases.items():
        name = f"tcp-{os.getpid()}-after-{case}.wild.example.test"
        outcome = "no result"
        try:
            with connect(args.server) as sock:
                sock.sendall(frame + framed(query(good_id, name)))
                while True:
                    rid, rcode, qname, addresses = parse(recv_message(sock))
                    if rid == good_id:
                        ok = rcode == 0 and addresses == ["198.51.100.99"]
                        outcome = "then the good query answered" if ok else f"good query: rcode={rcode} a={addresses}"
                        break
                    # A reply to the malformed frame itself (FORMERR, say) may come first.
        except EOFError:
            outcome = "connection closed"
        except (OSError, ValueError, struct.error) as error:
            outcome = f"{type(error).__name__}: {error}"
        print(f"malformed {case}: {outcome}")
    problem = ask(args.server, 0x6262, f"tcp-{os.getpid()}-fresh.wild.example.test")
    print("fresh connection: " + ("answered" if problem is None else f"no answer ({problem})"))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server")
    sub = parser.add_subparsers(dest="scenario", required=True)
    c = sub.add_parser("concurrent")
    c.add_argument("--clients", type=int, default=50)
    c.add_argument("--idle", choices=["silent", "half"], default="silent")
    c.add_argument("--idle-wait", type=float, default=8.0)
    p = sub.add_parser("pipeline")
    p.add_argument("--count", type=int, default=3)
    l = sub.add_parser("limit")
    l.add_argument("--hold", type=int, required=True)
    s = sub.add_parser("slowreader")
    s.add_argument("--queries", type=int, default=300)
    s.add_argument("--hold", type=float, default=2.0)
    sub.add_parser("malformed")
    args = parser.parse_args()
    scenarios = {"concurrent": concurrent, "pipeline": pipeline, "limit": limit, "slowreader": slowreader,
                 "malformed": malformed}
    return scenarios[args.scenario](args)


if __name__ == "__main__":
    sys.exit(main())
