#!/usr/bin/env python3
"""A DNS relay that delays every query (stdlib only), for the benchmark's upstream.

    delay_relay.py LISTEN_ADDR UPSTREAM_ADDR [--port 53] [--delay-ms 20]
                   [--max-in-flight 20000] [--max-tcp 256] [--ttl SECONDS]

The lab's kernel has no netem qdisc, so this stands in for `tc qdisc ... netem delay`: it
listens on LISTEN_ADDR (UDP and TCP, --port) and forwards each query to UPSTREAM_ADDR port 53
after --delay-ms, replies straight back. Queries are held in one FIFO (the delay is the same
for all, so arrival order is deadline order) under a single timer, not one timer each: that
keeps the relay's own cost per query small next to the daemons it serves.

UDP: one upstream socket; each forwarded query gets the next free 16-bit ID, the client's ID
is put back on the reply. More than --max-in-flight queries waiting or unanswered (and never
more than 65,536, the ID space) are dropped and counted; an upstream that never answers frees
its ID after 5 s. TCP: at most --max-tcp client connections, each with its own upstream
connection; messages are relayed in order, each held for the delay first.
With --ttl, every record's TTL in a reply (not the OPT pseudo-record's) becomes SECONDS, so a
benchmark shorter than the zone's TTLs still sees answers expire (and prefetch act).
On SIGTERM/SIGINT it prints its counters (one line) and exits 0.
"""

import argparse
import asyncio
import collections
import signal
import socket
import struct
import sys
import time

UPSTREAM_TIMEOUT = 5.0


def skip_name(message, offset):
    """The offset just past the (possibly compressed) name at offset."""
    while True:
        length = message[offset]
        if length >= 0xC0:
            return offset + 2
        offset += 1 + length
        if length == 0:
            return offset


def with_ttl(message, ttl):
    """message with every record's TTL set to ttl (OPT left alone); unchanged if malformed."""
    try:
        out = bytearray(message)
        questions, answers, authority, additional = struct.unpack("!4H", message[4:12])
        offset = 12
        for _ in range(questions):
            offset = skip_name(message, offset) + 4
        for _ in range(answers + authority + additional):
            offset = skip_name(message, offset)
            rtype, _, _, rdlength = struct.unpack("!HHIH", message[offset:offset + 10])
            if rtype != 41:
                struct.pack_into("!I", out, offset + 4, ttl)
            offset += 10 + rdlength
        return bytes(out)
    except (IndexError, struct.error):
        return message


class Counters:
    def __init__(self):
        self.udp_queries = 0
        self.udp_replies = 0
        self.udp_dropped = 0
        self.udp_expired = 0
        self.tcp_connections = 0
        self.tcp_refused = 0
        self.tcp_messages = 0

    def line(self):
        return " ".join(f"{k}={v}" for k, v in vars(self).items())


class UDPRelay:
    """Client side and upstream side of the UDP relay, with the delay queue between them."""

    def __init__(self, loop, upstream, delay, max_in_flight, counters, ttl):
        self.loop = loop
        self.ttl = ttl
        self.upstream = upstream
        self.delay = delay
        self.max_in_flight = min(max_in_flight, 65536)
        self.counters = counters
        self.queue = collections.deque()  # (deadline, upstream id, query bytes)
        self.timer = None
        self.pending = {}  # upstream id -> (client address, client id, sent at)
        self.next_id = 0
        self.front = None
        self.back = None

    def query(self, data, client):
        if len(data) < 12:
            return
        if len(self.pending) >= self.max_in_flight:
            self.expire()
            if len(self.pending) >= self.max_in_flight:
                self.counters.udp_dropped += 1
                return
        upstream_id = self.free_id()
        now = self.loop.time()
        self.pending[upstream_id] = (client, data[:2], now)
        self.counters.udp_queries += 1
        self.queue.append((now + self.delay, upstream_id, data))
        if self.timer is None:
            self.timer = self.loop.call_at(now + self.delay, self.release)

    def free_id(self):
        while self.next_id in self.pending:
            self.next_id = (self.next_id + 1) & 0xFFFF
        chosen = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFF
        return chosen

    def release(self):
        self.timer = None
        now = self.loop.time()
        queue = self.queue
        while queue and queue[0][0] <= now:
            _, upstream_id, data = queue.popleft()
            self.back.sendto(struct.pack("!H", upstream_id) + data[2:], (self.upstream, 53))
        if queue:
            self.timer = self.loop.call_at(queue[0][0], self.release)

    def reply(self, data):
        if len(data) < 12:
            return
        entry = self.pending.pop(struct.unpack("!H", data[:2])[0], None)
        if entry is None:
            return
        client, client_id, _ = entry
        self.counters.udp_replies += 1
        if self.ttl is not None:
            data = with_ttl(data, self.ttl)
        self.front.sendto(client_id + data[2:], client)

    def expire(self):
        cutoff = self.loop.time() - UPSTREAM_TIMEOUT - self.delay
        stale = [k for k, (_, _, sent) in self.pending.items() if sent < cutoff]
        for k in stale:
            del self.pending[k]
        self.counters.udp_expired += len(stale)


class Front(asyncio.DatagramProtocol):
    def __init__(self, relay):
        self.relay = relay

    def connection_made(self, transport):
        self.relay.front = transport

    def datagram_received(self, data, addr):
        self.relay.query(data, addr)


class Back(asyncio.DatagramProtocol):
    def __init__(self, relay):
        self.relay = relay

    def connection_made(self, transport):
        self.relay.back = transport

    def datagram_received(self, data, addr):
        self.relay.reply(data)


async def relay_tcp_client(reader, writer, args, counters, slots):
    if slots[0] >= args.max_tcp:
        counters.tcp_refused += 1
        writer.close()
        return
    slots[0] += 1
    counters.tcp_connections += 1
    up_writer = None
    try:
        up_reader, up_writer = await asyncio.open_connection(args.upstream, 53)
        while True:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
            message = await reader.readexactly(length)
            counters.tcp_messages += 1
            await asyncio.sleep(args.delay_ms / 1000)
            up_writer.write(struct.pack("!H", length) + message)
            reply_length = struct.unpack("!H", await up_reader.readexactly(2))[0]
            reply = await up_reader.readexactly(reply_length)
            if args.ttl is not None:
                reply = with_ttl(reply, args.ttl)
            writer.write(struct.pack("!H", reply_length) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        slots[0] -= 1
        writer.close()
        if up_writer is not None:
            up_writer.close()


async def main(args):
    loop = asyncio.get_running_loop()
    counters = Counters()
    relay = UDPRelay(loop, args.upstream, args.delay_ms / 1000, args.max_in_flight, counters, args.ttl)
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    await loop.create_datagram_endpoint(lambda: Front(relay), local_addr=(args.listen, args.port), family=family)
    await loop.create_datagram_endpoint(lambda: Back(relay), family=family)
    for transport in (relay.front, relay.back):
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    slots = [0]
    server = await asyncio.start_server(
        lambda r, w: relay_tcp_client(r, w, args, counters, slots), args.listen, args.port, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"delay_relay: {args.listen}:{args.port} -> {args.upstream}:53, delay {args.delay_ms} ms,"
          f"{'' if args.ttl is None else f', TTLs set to {args.ttl} s'}, started {time.strftime('%T')}", flush=True)
    await stop.wait()
    server.close()
    print(f"delay_relay: {counters.line()}", flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("listen")
    parser.add_argument("upstream")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--max-in-flight", type=int, default=20000)
    parser.add_argument("--max-tcp", type=int, default=256)
    parser.add_argument("--ttl", type=int)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_arguments()))
    sys.exit(0)
