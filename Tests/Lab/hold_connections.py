#!/usr/bin/env python3
"""Hold many TCP connections open against one server (stdlib only, bounded in count and time).

    hold_connections.py SERVER PORT [--count 3000] [--hold 20] [--first-byte]
                        [--sources 192.0.2.100-199] [--reconnect] [--rate 1000]

Opens up to --count connections (non-blocking, at most --rate new ones a second) and keeps
them for --hold seconds (or until SIGTERM), sending nothing, or with --first-byte one byte of
a DNS-over-TCP length prefix (a slowloris that never finishes its message). --sources binds
the connections round-robin to the addresses A.B.C.X-Y (they must exist on this host).
--reconnect opens a new connection for each one the server closes. At the end prints:
    connections: opened 3000, established 2980, closed by the server 2964, failed 0, open at end 16
"""

import argparse
import errno
import resource
import selectors
import signal
import socket
import time


def sources(spec):
    if not spec:
        return [None]
    base, _, last = spec.rpartition("-")
    prefix, _, first = base.rpartition(".")
    return [f"{prefix}.{n}" for n in range(int(first), int(last) + 1)]


class Holder:
    def __init__(self, args):
        self.args = args
        self.sources = sources(args.sources)
        self.selector = selectors.DefaultSelector()
        self.live = 0
        self.counts = {"opened": 0, "established": 0, "closed": 0, "failed": 0}

    def open_one(self):
        family = socket.AF_INET6 if ":" in self.args.server else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        source = self.sources[self.counts["opened"] % len(self.sources)]
        try:
            if source:
                sock.bind((source, 0))
            err = sock.connect_ex((self.args.server, self.args.port))
        except OSError:
            err = errno.EADDRNOTAVAIL
        self.counts["opened"] += 1
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self.counts["failed"] += 1
            return
        self.selector.register(sock, selectors.EVENT_WRITE, "connecting")
        self.live += 1

    def drop(self, sock, outcome):
        self.selector.unregister(sock)
        sock.close()
        self.live -= 1
        self.counts[outcome] += 1

    def on_event(self, key):
        sock = key.fileobj
        if key.data == "connecting":
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                self.drop(sock, "failed")
                return
            self.counts["established"] += 1
            if self.args.first_byte:
                try:
                    sock.send(b"\x00")
                except OSError:
                    self.drop(sock, "closed")
                    return
            self.selector.modify(sock, selectors.EVENT_READ, "open")
            return
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(sock, "closed")

    def wanted(self):
        if self.args.reconnect:
            return self.args.count - self.live
        return self.args.count - self.counts["opened"]

    def run(self):
        start = time.monotonic()
        end = start + self.args.hold
        while time.monotonic() < end:
            budget = int((time.monotonic() - start) * self.args.rate) + 1 - self.counts["opened"]
            for _ in range(max(0, min(self.wanted(), budget, 200))):
                self.open_one()
            for key, _ in self.selector.select(timeout=0.01):
                self.on_event(key)

    def close_all(self):
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()

    def summary(self):
        c = self.counts
        return (f"connections: opened {c['opened']}, established {c['established']}, closed by the server "
                f"{c['closed']}, failed {c['failed']}, open at end {self.live}")


def stop(*_):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--hold", type=float, default=20.0)
    parser.add_argument("--first-byte", action="store_true")
    parser.add_argument("--sources", default="")
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()
    args.count = min(args.count, 20000)
    args.hold = min(args.hold, 120.0)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    holder = Holder(args)
    signal.signal(signal.SIGTERM, stop)
    try:
        holder.run()
    except KeyboardInterrupt:
        pass
    print(holder.summary(), flush=True)
    holder.close_all()


if __name__ == "__main__":
    main()
