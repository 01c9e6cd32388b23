#!/usr/bin/env python3
"""Seeded Zipf query stream for the benchmark (stdlib only): a warm-up file and a measured file.

    zipf_queries.py WARMUP_FILE WINDOW_FILE --window N [--universe 1000000] [--exponent 0.9]
                    [--first-time 0.20] [--max-warmup 3000000] [--seed 20] [--prefix z]
                    [--domain wild.example.test]

Draws names PREFIX<rank>.DOMAIN (rank 1 the most popular, P(rank) proportional to
rank^-exponent) from one seeded stream. The measured window is N consecutive queries of that
stream; the warm-up is everything before it, as long as it takes for the window to hold about
--first-time of names the stream has not drawn before (a longer history leaves fewer new
names), but never more than --max-warmup queries. Both files are dnsperf input ("NAME A").
The warm-up file holds each name of that history once, in the order of its last query: what a
cache holds after the history is the same (an LRU cache too small for all of them keeps the
same most recent ones), and the warm-up costs one upstream query per name instead of a
replay of the whole history.

Prints one line of facts to stdout, e.g.
    history=986000 warmup=304226 window=40000 first_time=0.1999 distinct_total=312222
where history is the stream's length before the window, warmup the names in the warm-up file
(the distinct names of that history), and first_time is the exact fraction of window queries whose name appears neither in the
warm-up nor earlier in the window.
"""

import argparse
import bisect
import itertools
import random
import sys


def cumulative_weights(universe, exponent):
    return list(itertools.accumulate(rank ** -exponent for rank in range(1, universe + 1)))


def extend(stream, first, seen, count, cumulative, rng):
    """Draws count more ranks into stream; first[i] says whether stream[i] was new then."""
    total = cumulative[-1]
    for _ in range(count):
        rank = bisect.bisect_left(cumulative, rng.random() * total) + 1
        stream.append(rank)
        first.append(rank not in seen)
        seen.add(rank)


def warmup_length(first, window, target, limit):
    """The shortest history W <= limit whose next `window` queries are at most `target` new,
    or None when the stream is not yet long enough to tell."""
    prefix = [0] + list(itertools.accumulate(first))
    for start in range(0, min(limit, len(first) - window) + 1, max(1, window // 20)):
        if (prefix[start + window] - prefix[start]) / window <= target:
            return start
    return limit if len(first) >= limit + window else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warmup_file")
    parser.add_argument("window_file")
    parser.add_argument("--window", type=int, required=True)
    parser.add_argument("--universe", type=int, default=1_000_000)
    parser.add_argument("--exponent", type=float, default=0.9)
    parser.add_argument("--first-time", type=float, default=0.20)
    parser.add_argument("--max-warmup", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--prefix", default="z")
    parser.add_argument("--domain", default="wild.example.test")
    args = parser.parse_args()
    if args.window < 1 or args.universe < 1:
        sys.exit("zipf_queries.py: --window and --universe must be positive")

    rng = random.Random(args.seed)
    cumulative = cumulative_weights(args.universe, args.exponent)
    stream, first, seen = [], [], set()
    length = 4 * args.window
    while True:
        extend(stream, first, seen, length - len(stream), cumulative, rng)
        start = warmup_length(first, args.window, args.first_time, args.max_warmup)
        if start is not None:
            break
        length *= 2
    window = stream[start:start + args.window]
    before = set(stream[:start])
    new = sum(1 for i in range(start, start + args.window) if first[i])
    write(args.warmup_file, by_last_query(stream[:start]), args)
    write(args.window_file, window, args)
    print(f"history={start} warmup={len(before)} window={args.window} first_time={new / args.window:.4f}"
          f" distinct_total={len(before | set(window))}")


def by_last_query(ranks):
    last = {rank: i for i, rank in enumerate(ranks)}
    return sorted(last, key=last.__getitem__)


def write(path, ranks, args):
    with open(path, "w") as out:
        out.writelines(f"{args.prefix}{rank}.{args.domain} A\n" for rank in ranks)


if __name__ == "__main__":
    main()
