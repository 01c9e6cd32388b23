#!/usr/bin/env bash
# --query-log opened safely, as root: the daemon opens its log as root before dropping
# privileges, so a symbolic link planted at the log path (by any user who can write the
# directory) must not make it append to the link's target; nor may a FIFO or a hard link
# stand in for the log. A new log is private (0600) and belongs to the --user account.
#
#   sudo Tests/Lab/query_log_safety_test.sh   (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4

dig_client() { lab_exec client dig +tries=1 +time=2 "$@" 2>&1; }

# refused LABEL PATH REASON: the daemon must not start with --query-log PATH, and must say
# so in one line naming --query-log, the path and REASON.
refused() {
    local label=$1 path=$2 reason=$3 mark
    mark=$(lab_daemon_log_lines)
    if lab_start_daemon --query-log "$path" 2>/dev/null; then
        # It started: show what that costs (a query logged through the planted path).
        dig_client "@$DECOY4" "$label-$$.example.test" A >/dev/null
        sleep 0.5
        lab_stop_daemon 2>/dev/null
        t_fail "$label: the daemon refuses to start" "it started, and logged a query through $path"
        return
    fi
    # Whatever is left of it (a start that hung) is stopped by its PID.
    lab_stop_daemon 2>/dev/null
    t_pass "$label: the daemon refuses to start (exit $LAB_DAEMON_EXIT_STATUS)"
    local line
    line=$(lab_daemon_log_since "$mark" | grep -v "^--- " | grep -- "--query-log")
    t_note "$line"
    expect_eq "$label: one error line" "$(grep -c . <<<"$line")" 1
    expect_match "$label: it names --query-log, the path and why" "$line" "^tproxy-dns: .*--query-log $path: $reason"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    # A directory anyone may write, as /tmp is: where a local user would plant the link.
    local shared=$LAB_RUN/shared victim=$LAB_RUN/victim
    mkdir -m 1777 "$shared"
    printf 'root:x:0:0:precious\n' >"$victim"
    local before
    before=$(sha256sum <"$victim")

    echo "# 1. a symbolic link at the log path, pointing at a victim file"
    ln -s "$victim" "$shared/queries.log"
    refused "symlink" "$shared/queries.log" "is a symbolic link.*open\(O_NOFOLLOW\) failed: .*errno $(python3 -c 'import errno; print(errno.ELOOP)')"
    expect_eq "symlink: the victim is untouched" "$(sha256sum <"$victim")" "$before"
    ln -s "$shared/nothing-here" "$shared/dangling.log"
    refused "dangling symlink" "$shared/dangling.log" "is a symbolic link"
    check "dangling symlink: its target was not created" test ! -e "$shared/nothing-here"

    echo "# 2. a FIFO, a directory, a hard link"
    mkfifo "$shared/fifo.log"
    refused "FIFO" "$shared/fifo.log" "is a FIFO"
    mkdir "$shared/dir.log"
    refused "directory" "$shared/dir.log" "is a directory"
    ln "$victim" "$shared/hard.log"
    refused "hard link" "$shared/hard.log" "has 2 hard links"
    expect_eq "hard link: the victim is untouched" "$(sha256sum <"$victim")" "$before"

    echo "# 3. a file owned by someone else"
    : >"$shared/other.log"
    chown nobody "$shared/other.log"
    refused "another user's file" "$shared/other.log" "owned by uid $(id -u nobody), not by the daemon's user \(uid 0\)"

    echo "# 4. a new log: 0600, owned by the --user account, written"
    check "daemon starts with --query-log and --user nobody" \
        lab_start_daemon --query-log "$shared/new.log" --user nobody --no-control || finish
    expect_eq "new log: mode 600, owner nobody" "$(stat -c '%a %U' "$shared/new.log")" "600 nobody"
    dig_client "@$DECOY4" www.example.test A >/dev/null
    check "new log: the query is logged" wait_until 3 grep -q 'www.example.test' "$shared/new.log"
    lab_stop_daemon 2>/dev/null
    check "restarted with the same log: accepted (it is nobody's)" \
        lab_start_daemon --query-log "$shared/new.log" --user nobody --no-control || finish
    lab_stop_daemon 2>/dev/null
    check "restarted as root: nobody's log is refused" eval '! lab_start_daemon --query-log "$shared/new.log" 2>/dev/null'
    check "--query-log - (standard output) still works" lab_start_daemon --query-log - || finish
    dig_client "@$DECOY4" www.example.test A >/dev/null
    check "-: the query line is in the daemon's output" wait_until 3 grep -q 'www.example.test' "$LAB_RUN/daemon.log"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    expect_eq "the victim is untouched at the end" "$(sha256sum <"$victim")" "$before"
    finish
}

lab_main main
