#!/usr/bin/env python3
"""Per-miss breakdown of a callgrind profile of `tproxy-dns serve` (scripts/profile_miss.sh).

Reads `callgrind_annotate --tree=calling --inclusive=yes` output and prints, per stage of a
miss, the instructions (Ir) per miss: inclusive counts of the functions that do that stage,
divided by the number of misses. Stages nest as the code does (a query's upstream send runs
inside its receive), so each row says what it includes.

    miss_stages.py ANNOTATE_OUTPUT MISSES
"""
import re
import sys

# (stage, symbol fragment, what the count includes). First match of each fragment wins.
STAGES = [
    ("loop total (per miss)", "DNSServer10ServerLoopC3run", "everything the event loop did"),
    ("  client receive + handling", "UDPFrontEndC5drain", "recvmmsg batch, admission, cache fast path, forwarder, queueing"),
    ("    cache fast path (a miss)", "UDPFrontEndC15answerFromCache", "plain-query parse, key, shard lookup"),
    ("    forwarder: query", "ForwarderC11handleQuery", "parse, zones, cache lookup, attempt, upstream wire"),
    ("      client query parse", "ClientQueryParserO8classify", ""),
    ("      attempt + upstream query", "ForwarderC4send_3now", "ID, 0x20 name, wire, bookkeeping"),
    ("  upstream sends", "QueryPipelineC20flushUpstreamQueries", "sendmmsg per socket run"),
    ("  upstream receive + handling", "UpstreamTransportC17drainPooledSocket", "recvmmsg, match, forwarder, reply queued"),
    ("    forwarder: reply", "ForwarderC19handleUpstreamReply", "validate, cache insert, render per waiter"),
    ("      validation", "UpstreamReplyValidatorO8validate", "header, question, records and RDATA shapes"),
    ("      cache insert", "DNSCacheC6insert_3for", "entry object, shard insert, eviction"),
    ("      reply render", "ReplyRendererO6render", "ID, case, TTLs, OPT for the client"),
    ("  reply sends (raw)", "UDPReplySenderC5flush", "IP/UDP headers, checksums, sendmmsg"),
    ("  wait timeout", "ServerLoopC11waitTimeout", "next deadline, paused listeners"),
    ("  expiry", "ForwarderC6expire3now", "timeouts and due probes"),
]


def main():
    text = open(sys.argv[1]).read().split("\n")
    misses = int(sys.argv[2])
    heads = {}
    for line in text:
        match = re.match(r"^\s*([\d,]+) \([\d. %]+\)\s+\*\s+(\S+)", line)
        if match:
            heads.setdefault(match.group(2), int(match.group(1).replace(",", "")))
    print("| stage | Ir per miss | includes |")
    print("|---|--:|---|")
    for stage, fragment, includes in STAGES:
        total = next((count for symbol, count in heads.items() if fragment in symbol), None)
        cell = "-" if total is None else f"{total / misses:,.0f}"
        print(f"| {stage} | {cell} | {includes} |")


if __name__ == "__main__":
    main()
