#!/usr/bin/env bash
# `tproxy-dns top` against a live daemon, driven in tmux on an 80x24 terminal: the frame's
# figures move with the traffic (queries/s, answers by source, top names, clients and original
# destinations), q quits; `top --once` prints one frame that fits 80x24.
#
#   sudo Tests/Lab/top_test.sh      (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
TMUX_SOCKET="tproxy-dns-top-$LAB_ID"

tmux_() { tmux -L "$TMUX_SOCKET" "$@"; }
pane() { tmux_ capture-pane -p -t top 2>/dev/null; }
# The number after "queries/s" in the frame on screen.
shown_rate() { pane | sed -nE 's/^queries\/s +([0-9.]+).*/\1/p' | head -n 1; }
rate_above() { awk -v r="$(shown_rate)" -v l="$1" 'BEGIN { exit !(r != "" && r + 0 > l) }'; }
rate_is_zero() { [[ $(shown_rate) == 0.0 ]]; }
pane_matches() { pane | grep -qE "$1"; }
session_gone() { ! tmux_ has-session -t top 2>/dev/null; }

finish_top() {
    tmux_ kill-server 2>/dev/null # our own server only (-L socket of this lab)
    lab_spawn_stop load
    lab_spawn_stop names
    finish
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts" lab_start_daemon || finish
    BIN=$(lab_daemon_bin)

    echo "# top --once"
    out=$(cli top --once --interval 0.5)
    expect_match "--once: the header line" "$out" '^tproxy-dns top \| up [0-9]+h[0-9]{2}m[0-9]{2}s'
    expect_match "--once: an upstream row" "$out" '^198\.51\.100\.53:53 +up '
    expect_le "--once: at most 24 lines" "$(wc -l <<<"$out")" 24
    expect_le "--once: at most 80 columns" "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' <<<"$out")" 80

    echo "# top in tmux (80x24)"
    check "top starts in a detached 80x24 tmux session" \
        tmux_ new-session -d -s top -x 80 -y 24 "ip netns exec $(lab_ns gw) $BIN top --control $LAB_CONTROL"
    check "the first frame shows, idle: queries/s 0.0" wait_until 5 rate_is_zero
    expect_match "frame: the answers line" "$(pane)" '^answers/s cache [0-9.]+  upstream [0-9.]+  zone'

    # 40 new names a second (1 query each), and www.example.test 5 times a second: the busiest name.
    lab_spawn client load python3 "$here/paced_queries.py" "$DECOY4" --count 240 --rate 40 --wait 1
    lab_spawn client names bash -c "for i in \$(seq 30); do dig +tries=1 +time=1 @$DECOY4 www.example.test A >/dev/null; sleep 0.2; done"
    check "under 40 queries/s the rate shown rises above 20" wait_until 6 rate_above 20
    screen=$(pane)
    t_note "$(grep -E '^(queries/s|answers/s)' <<<"$screen")"
    expect_match "frame: answers from the upstream move" "$screen" '^answers/s cache [0-9.]+  upstream ([1-9][0-9.]*|0\.[1-9])'
    check "top names: www.example.test. shows" wait_until 3 pane_matches '^www\.example\.test\. +[0-9.]+ '
    expect_match "top clients: 192.0.2.10" "$(pane)" ' 192\.0\.2\.10 +[0-9.]+'
    expect_match "original destinations: 203.0.113.53" "$(pane)" ' 203\.0\.113\.53 +[0-9.]+ *$'
    expect_le "frame: every line fits 80 columns" "$(pane | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')" 80

    check "the load ends" wait_until 10 bash -c "! kill -0 $(cat "$LAB_RUN/spawn-load.pid") 2>/dev/null"
    lab_spawn_stop names
    check "after the load the rate falls back to 0.0" wait_until 5 rate_is_zero

    tmux_ send-keys -t top q
    check "q quits top (the session ends)" wait_until 3 session_gone
    finish_top
}

lab_main main
