# shellcheck shell=bash
# Shared by the integration tests that run on a lab (scripts/lab.sh); sourced
# from the repository root:  cd "$(dirname "$0")/../.." && . tests/integration/lib.sh
#
# it_init            set ROOT and M (the m3fs binary: $M3FS_BIN, else
#                    build/m3fs); skip (exit 77 with the reason) unless root,
#                    scripts/lab.sh and the binary are there.
# it_init_lab        it_init for a test that does not run m3fs: no M.
# it_workdir NAME    set W (a new work dir /var/tmp/m3fs-test-NAME.XXXXXX),
#                    M3FS_LAB_DIR=$W/lab and the pass/fail counters; on exit
#                    it_cleanup brings the lab down and removes W (a test
#                    with more to undo traps its own function calling it).
# it_skip REASON     print "SKIP: REASON" and exit 77.
# it_lab_up N [ARGS] bring up an N-node lab (ARGS: more `lab.sh up` options,
#                    e.g. --nic lan0), first waiting (up to M3FS_LAB_WAIT,
#                    default 900 s) for
#                    another lab on this machine to go down; set KH (the lab's
#                    known_hosts).  On failure print the lab's log and exit 1.
# ok MSG / bad MSG   count a pass / a failure; bad also shows $W/out
#                    indented: IT_SHOW_LINES lines (default 40), its first
#                    (IT_SHOW_END=head, the default) or its last (tail).
# has TEXT           $W/out contains TEXT (fixed string); has_re ERE: a match.
# mx ARGS...         m3fs with the lab's known_hosts.
# on I CMD...        run CMD on lab node I over SSH; ssh joins the words with
#                    spaces and the node's shell splits and expands them again.
# onq I ARG...       run ARG... on lab node I as that argv: each word quoted
#                    for the node's shell (printf %q), so spaces, quotes and $
#                    reach the command as they are.
# it_wait_out PID TEXT [TENTHS]  wait until $W/out contains TEXT or process PID
#                    has ended, checking every 0.1 s, at most TENTHS times (600).
# it_wait_out_re PID ERE [TENTHS]  the same for a line matching ERE (1200).
# it_done LABEL      print "LABEL: N passed, N failed"; succeed when none failed.
# wait_until TENTHS CMD...  until CMD succeeds, checking every 0.1 s, at most
#                    TENTHS times.
# nd I               lab node I's directory ($M3FS_LAB_DIR/nodes/nI).
# in_node I CMD...   CMD in lab node I's namespaces (net, mount, uts), without SSH.
# sshd_stop I        kill node I's sshd with every connection it serves (as a
#                    node dying would); sshd_start I starts it again as
#                    scripts/lab/node.sh does, its pid recorded for lab.sh,
#                    and waits until `on I` answers (test_faults, test_relay).

it_skip() {
    echo "SKIP: $*"
    exit 77
}

it_cleanup() {
    scripts/lab.sh down >/dev/null 2>&1 || true
    rm -rf "$W"
}

it_init_lab() {
    ROOT=$PWD
    [ "$(id -u)" -eq 0 ] || it_skip "needs root (the lab creates namespaces and daemons)"
    [ -x scripts/lab.sh ] || it_skip "scripts/lab.sh is missing"
}

it_init() {
    it_init_lab
    M=${M3FS_BIN:-$ROOT/build/m3fs}
    [ -x "$M" ] || it_skip "m3fs binary not found at $M (set M3FS_BIN)"
}

it_workdir() {
    W=$(mktemp -d "/var/tmp/m3fs-test-$1.XXXXXX")
    export M3FS_LAB_DIR=$W/lab
    pass=0 fail=0
    trap it_cleanup EXIT
}

it_lab_up() {
    scripts/lab.sh up "$@" --wait "${M3FS_LAB_WAIT:-900}" >"$W/lab.log" 2>&1 || {
        cat "$W/lab.log"
        echo "FAIL: lab up"
        exit 1
    }
    KH=$M3FS_LAB_DIR/known_hosts
}

ok() {
    pass=$((pass + 1))
    echo "ok: $*"
}

bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
    [ -f "$W/out" ] && sed 's/^/    | /' "$W/out" | "${IT_SHOW_END:-head}" -n "${IT_SHOW_LINES:-40}"
}

has() { grep -qF -- "$1" "$W/out"; }
has_re() { grep -qE -- "$1" "$W/out"; }
mx() { "$M" --known-hosts "$KH" "$@"; }

on() {
    local n=$1
    shift
    ssh -F "$M3FS_LAB_DIR/ssh_config" "lab-n$n" "$@"
}

onq() {
    local n=$1
    shift
    on "$n" "$(printf '%q ' "$@")"
}

# it_wait_for PID TENTHS CMD...: until CMD succeeds, or PID has ended (then
# CMD once more decides).
it_wait_for() {
    local pid=$1 n=$2 i
    shift 2
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || { "$@"; return; }
        sleep 0.1
    done
    return 1
}

it_wait_out() { it_wait_for "$1" "${3:-600}" has "$2"; }
it_wait_out_re() { it_wait_for "$1" "${3:-1200}" has_re "$2"; }

it_done() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# wait_until TENTHS CMD...: until CMD succeeds.
wait_until() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}
nd() { echo "$M3FS_LAB_DIR/nodes/n$1"; }
in_node() { # in_node I CMD...: CMD in node I's namespaces, without SSH
    local i=$1
    shift
    nsenter -t "$(cat "$(nd "$i")/holder.pid")" -n -m -u "$@"
}
# The node's sshd with every connection it serves (as a node dying would);
# started again as scripts/lab/node.sh starts it, its pid recorded for lab.sh.
sshd_stop() {
    local p
    p=$(sed -n 's/^sshd=//p' "$(nd "$1")/pids")
    kill $(pgrep -P "$p") "$p" 2>/dev/null
    wait_until 100 eval "! kill -0 $p 2>/dev/null"
}
sshd_start() {
    local i=$1 p
    in_node "$i" rm -f /run/sshd.pid
    in_node "$i" setsid /usr/sbin/sshd -D -f /run/m3fs-lab/sshd_config \
        -E /run/m3fs-lab/sshd.log </dev/null >/dev/null 2>&1 &
    wait_until 100 in_node "$i" test -s /run/sshd.pid || return 1
    p=$(in_node "$i" cat /run/sshd.pid)
    sed -i "s/^sshd=.*/sshd=$p/" "$(nd "$i")/pids"
    wait_until 100 on "$i" true
}
