# shellcheck shell=bash
# Sourced by scripts/bench.sh: the dnsperf query files (hit, unique-name miss, mixed; peak and
# fixed-load sizes) and the cache warm-up before the hit runs. Uses LAB_RUN, RUN_SECONDS,
# PEAK_SIZING_QPS, MISS_QPS and MIXED_QPS from bench.sh.

make_query_files() {
    local q=$LAB_RUN/queries fixed_lines
    mkdir -p "$q"
    awk 'BEGIN { for (i = 0; i < 1000; i++) printf "h%04d.wild.example.test A\n", i }' >"$q/hit.txt"
    # Unique names: a prefix per file, so no run repeats another run's names either.
    awk -v n=$((PEAK_SIZING_QPS * RUN_SECONDS)) 'BEGIN { for (i = 0; i < n; i++) printf "mp%d.wild.example.test A\n", i }' >"$q/miss-peak.txt"
    fixed_lines=$((MISS_QPS * RUN_SECONDS * 12 / 10))
    awk -v n="$fixed_lines" 'BEGIN { for (i = 0; i < n; i++) printf "mf%d.wild.example.test A\n", i }' >"$q/miss-fixed.txt"
    mixed() { # PREFIX LINES: four hits, then one unique miss
        awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) {
            if (i % 5 == 4) printf "%s%d.wild.example.test A\n", p, i
            else printf "h%04d.wild.example.test A\n", (i * 7) % 1000 } }'
    }
    mixed xp $((PEAK_SIZING_QPS * RUN_SECONDS)) >"$q/mixed-peak.txt"
    mixed xf $((MIXED_QPS * RUN_SECONDS * 12 / 10)) >"$q/mixed-fixed.txt"
}

# warm SERVER: every hit name once, until a pass answers all 1,000 with NOERROR (a burst of
# misses on a busy machine can time out upstream, and SERVFAIL is cached for a few seconds),
# then check one answer's name, address and replying server.
warm() {
    local server=$1 out pass complete=0
    for pass in 1 2 3; do
        ((pass > 1)) && sleep 6 # past tproxy-dns's --servfail-ttl (5 s)
        lab_exec client timeout 30 dnsperf -s "$server" -d "$LAB_RUN/queries/hit.txt" -n 1 -Q 5000 -c 8 -q 500 -t 2 >/dev/null 2>&1
        out=$(lab_exec client timeout 30 dnsperf -s "$server" -d "$LAB_RUN/queries/hit.txt" -n 1 -Q 5000 -c 8 -q 500 -t 2 2>&1)
        [[ $out == *"Response codes:       NOERROR 1000 (100.00%)"* ]] && { complete=1; break; }
        say "warm-up pass $pass against $server: not every hit name answered NOERROR: $(sed -n 's/^ *Response codes: *//p' <<<"$out")"
    done
    if ((!complete)); then
        extra_note="${extra_note:+$extra_note; }warm-up incomplete: some hit names not cached"
    elif ((pass > 1)); then
        extra_note="${extra_note:+$extra_note; }warm-up took $pass passes"
    fi
    out=$(lab_exec client dig +tries=2 +time=2 "@$server" h0001.wild.example.test A 2>&1)
    if [[ $(dig_answers "$out" A) != 198.51.100.99 || $(dig_server "$out") != "$server#53("* ]]; then
        say "warm-up check failed against $server:"
        echo "$out" >&2
        return 1
    fi
}
dig_answers() {
    awk -v type="$2" '/^;; ANSWER SECTION:/ { a = 1; next } a && /^$/ { a = 0 } a && $4 == type { print $5 }' <<<"$1"
}
dig_server() { sed -n 's/^;; SERVER: //p' <<<"$1" | head -n 1; }
