#!/bin/sh
# m3fs-facts - run by `m3fs cluster status` and `cluster doctor` on every node
# of a cluster, as root:  sh -c SCRIPT m3fs-facts [OPTION]...
#
#   -c NAME           a container of this cluster expected here
#   -z NAME           also the UTC offset of container NAME's local time
#   -f MOUNTPOINT     the 3FS FUSE mountpoint (client nodes)
#   -t BASE COUNT     the storage target paths BASE/data<i>/3fs, i < COUNT
#   -a ADDRESS        the node's 3FS address: which NIC holds it
#   -k FILE           a token file: its mode
#   -r                RDMA links (rdma link, else ibv_devinfo)
#   -p NAME CTR CMD   a cluster probe: CMD (sh -c) when container CTR runs here
#                     (its standard output and error kept apart)
#
# Prints one fact per line, fields separated by tabs; the format is in
# docs/status.md and is parsed by src/status/facts.c.  Everything that may
# wait (docker, a stat of the FUSE mount, df, probes) runs at once in the
# background, each bounded by `timeout` (2 s for a stat or df, 6 s for a
# probe, 10 s for docker inspect); lines come out in a fixed order.
# Few processes are started: 20 nodes of a lab share one machine.
exec </dev/null
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
tab='	'
ctrs='' tzctr='' seq=1000 np=0

# A file for the output of the next job, in option order.
next() {
    seq=$((seq + 1))
    out="$tmp/o.$seq"
}

# One line, tabs and line breaks made spaces.
flat() {
    tr '\t\n' '  '
}

fuse_job() {
    mounted=0 answer=- detail=
    while read -r _ mp fstype _; do
        [ "$mp" = "$1" ] && [ "$fstype" = fuse.hf3fs ] && mounted=1
    done </proc/mounts
    if [ "$mounted" = 1 ]; then
        timeout -s KILL 2 stat -c %i "$1" >/dev/null 2>"$tmp/fuse.err"
        case $? in
        0) answer=ok ;;
        137) answer=timeout detail='no answer within 2 s' ;;
        *) answer=stale detail=$(flat <"$tmp/fuse.err") ;;
        esac
    fi
    printf 'fuse\t%s\t%s\t%s\t%s\n' "$1" "$mounted" "$answer" "$detail"
}

# 0 when DIR is a mount point (bind mounts too): field 5 of /proc/self/mountinfo.
is_mount() {
    while read -r _ _ _ _ m _; do
        [ "$m" = "$1" ] && return 0
    done </proc/self/mountinfo
    return 1
}

# BASE I: target path i; df of it, else of the nearest directory above it.
target_job() {
    d="$1/data$2" p="$1/data$2/3fs" exists=0 mp=0
    [ -d "$p" ] && exists=1
    is_mount "$d" && mp=1
    at=$p
    [ -d "$at" ] || at=$d
    [ -d "$at" ] || at=$1
    timeout -s KILL 2 df -P -k "$at" 2>/dev/null | {
        read -r _
        read -r _ size used avail _ || size=- used=- avail=-
        printf 'target\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$p" "$exists" "$mp" "${size:--}" \
            "${used:--}" "${avail:--}"
    }
}

nic_job() {
    ip -o -4 addr show 2>/dev/null | awk -v a="$1" '
        { split($4, x, "/"); if (x[1] == a && !nic) nic = $2 }
        END { st = "-"; if (nic != "") { f = "/sys/class/net/" nic "/operstate"; if ((getline st < f) <= 0) st = "-" }
              print "nic\t" a "\t" (nic != "" ? nic : "-") "\t" st }'
}

token_job() {
    mode=$(stat -c %a "$1" 2>/dev/null) || mode=missing
    printf 'token\t%s\t%s\n' "$1" "$mode"
}

rdma_job() {
    if command -v rdma >/dev/null 2>&1; then
        echo "rdma-tool${tab}rdma"
        rdma link show 2>/dev/null | awk '$1 == "link" {
            split($2, a, "/"); st = "-"; nd = "-"
            for (i = 3; i < NF; i++) { if ($i == "state") st = $(i + 1); if ($i == "netdev") nd = $(i + 1) }
            print "rdma\t" a[1] "\t" a[2] "\t" st "\t" nd }'
    elif command -v ibv_devinfo >/dev/null 2>&1; then
        echo "rdma-tool${tab}ibv_devinfo"
        ibv_devinfo 2>/dev/null | awk '$1 == "hca_id:" { dev = $2 } $1 == "port:" { port = $2 }
            $1 == "state:" { st = $2; sub(/^PORT_/, "", st); print "rdma\t" dev "\t" port "\t" st "\t-" }'
    else
        echo "rdma-tool${tab}none"
    fi
}

# The UTC offset of a container's local time (admin_cli prints local
# times): its TZ, else its /etc/localtime, read through /proc/PID/root.
tz_of() {
    e=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^TZ=//p')
    r=/proc/$1/root
    case $e in
    '') z=$r/etc/localtime ;;
    :/*) z=$r${e#:} ;;
    /*) z=$r$e ;;
    *) z=$r/usr/share/zoneinfo/${e#:} ;;
    esac
    if [ -r "$z" ]; then TZ=":$z" date +%z
    elif [ -n "$e" ]; then TZ=$e date +%z
    else echo +0000; fi
}

# The containers of this cluster, then the limits of each running one's
# main process and the UTC offset of -z's container.  Through the Docker
# Engine API with curl when both are there (one light process: the node's
# inspect documents go to m3fs as they are), else one `docker inspect`.
containers() {
    [ -n "$ctrs" ] || return 0
    sock=/var/run/docker.sock
    case ${DOCKER_HOST:-} in unix://*) sock=${DOCKER_HOST#unix://} ;; ?*) sock= ;; esac
    if [ -n "$sock" ] && [ -S "$sock" ] && command -v curl >/dev/null 2>&1; then
        ctr_api "$sock" || return 0
    else
        ctr_cli || return 0
    fi
    lims=''
    while read -r name pid; do
        [ -r "/proc/$pid/limits" ] && lims="$lims c=$name /proc/$pid/limits"
        if [ "$name" = "$tzctr" ]; then printf 'tz\t%s\t%s\n' "$name" "$(tz_of "$pid")"; fi
    done <"$tmp/pids"
    # shellcheck disable=SC2086 # names and /proc paths, single words
    [ -z "$lims" ] || awk '/^Max open files/ { n = $4 }
        /^Max locked memory/ { print "limits\t" c "\t" n "\t" $4 }' $lims
}

docker_error() {
    printf 'docker\terror\t%s\n' "$1"
    return 1
}

# GET /containers/NAME/json for each (an unknown name answers a
# "message"); lines "ctrjson NAME DOCUMENT"; running ones with their pid
# into $tmp/running and $tmp/pids.
ctr_api() {
    api=$1 i=0 files=''
    set --
    for c in $ctrs; do
        i=$((i + 1))
        set -- "$@" "http://docker/containers/$c/json" -o "$tmp/j$i"
        files="$files n=$c $tmp/j$i"
    done
    timeout -s KILL 10 curl -s --unix-socket "$api" "$@" 2>"$tmp/ctr.err" ||
        docker_error "cannot reach dockerd at $api (curl exit $?)" || return 1
    printf 'docker\tok\n'
    : >"$tmp/pids"
    # shellcheck disable=SC2086 # names and paths m3fs made, single words
    awk -v tmp="$tmp" '
        FNR == 1 { if (doc != "") done(); doc = "" } { doc = doc $0 }
        END { if (doc != "") done() }
        function done(  st, pid) {
            print "ctrjson\t" cur "\t" doc
            if (match(doc, /"Status":"[a-z]*"/)) st = substr(doc, RSTART + 10, RLENGTH - 11)
            if (st == "running" && match(doc, /"Pid":[0-9]+/)) {
                pid = substr(doc, RSTART + 6, RLENGTH - 6)
                print cur >> (tmp "/running"); print cur " " pid >> (tmp "/pids")
            }
        }
        FNR == 1 { cur = n }' $files
}

# One `docker inspect` for all: lines "ctr NAME STATE RESTARTS STARTED IMAGE PID".
ctr_cli() {
    # shellcheck disable=SC2086 # container names are single words
    timeout -s KILL 10 docker inspect -f '{{.Name}} {{.State.Status}} {{.RestartCount}} {{.State.StartedAt}} {{.Config.Image}} {{.State.Pid}}' $ctrs >"$tmp/ctr" 2>"$tmp/ctr.err"
    rc=$?
    if [ "$rc" != 0 ] && ! grep -qi 'no such' "$tmp/ctr.err"; then
        docker_error "$(head -n 1 "$tmp/ctr.err" | flat)"
        return 1
    fi
    printf 'docker\tok\n'
    found=' '
    : >"$tmp/pids"
    while read -r name state restarts started image pid; do
        name=${name#/}
        found="$found$name "
        printf 'ctr\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$state" "$restarts" "$started" "$image" "$pid"
        [ "$state" = running ] || continue
        echo "$name" >>"$tmp/running"
        case $pid in '' | 0 | *[!0-9]*) ;; *) echo "$name $pid" >>"$tmp/pids" ;; esac
    done <"$tmp/ctr"
    for c in $ctrs; do
        case $found in *" $c "*) ;; *) printf 'ctr\t%s\tmissing\n' "$c" ;; esac
    done
}

# NAME CTR CMD I: the output lines after '|', then the error lines after '!'.
probe_job() {
    timeout -s KILL 6 sh -c "$3" >"$tmp/po$4" 2>"$tmp/pe$4"
    rc=$?
    printf 'begin\t%s\n' "$1"
    awk '{ print "|" $0 }' "$tmp/po$4"
    awk '{ print "!" $0 }' "$tmp/pe$4"
    printf 'end\t%s\t%s\n' "$1" "$rc"
}

# Probes wait for the container states: their arguments are kept in files.
probes() {
    i=0
    while [ "$i" -lt "$np" ]; do
        i=$((i + 1))
        read -r name <"$tmp/p$i.name"
        read -r ctr <"$tmp/p$i.ctr"
        next
        if grep -qxF "$ctr" "$tmp/running" 2>/dev/null; then
            probe_job "$name" "$ctr" "$(cat "$tmp/p$i.cmd")" "$i" >"$out" &
        else
            printf 'begin\t%s\nend\t%s\tnot-running\n' "$name" "$name" >"$out"
        fi
    done
}

printf 'm3fs-facts\t1\nt0\t%s\n' "$(date +%s.%N)"
read -r host </proc/sys/kernel/hostname
printf 'host\t%s\nmachine\t%s\n' "$host" "$(uname -m)"
while [ $# -gt 0 ]; do
    case $1 in
    -c) ctrs="$ctrs $2"; shift 2 ;;
    -z) tzctr=$2; shift 2 ;;
    -f) next; fuse_job "$2" >"$out" & shift 2 ;;
    -t) i=0
        while [ "$i" -lt "$3" ]; do next; target_job "$2" "$i" >"$out" & i=$((i + 1)); done
        shift 3 ;;
    -a) next; nic_job "$2" >"$out" & shift 2 ;;
    -k) next; token_job "$2" >"$out" & shift 2 ;;
    -r) next; rdma_job >"$out" & shift ;;
    -p) np=$((np + 1))
        printf '%s\n' "$2" >"$tmp/p$np.name"
        printf '%s\n' "$3" >"$tmp/p$np.ctr"
        printf '%s' "$4" >"$tmp/p$np.cmd"
        shift 4 ;;
    *) echo "m3fs-facts: unknown argument $1" >&2; exit 2 ;;
    esac
done
# (awk, not the shell's read: a sysctl file read a byte at a time ends after one)
awk 'FILENAME ~ /aio-nr$/ { nr = $1 } FILENAME ~ /aio-max-nr$/ { max = $1 }
    FILENAME == "/proc/cpuinfo" && /^flags/ && !seen {
        seen = 1; for (i = 3; i <= NF; i++) { if ($i == "avx512f") a = 1; if ($i == "avx2") b = 1 } }
    END { print "aio\t" (nr == "" ? "-" : nr) "\t" (max == "" ? "-" : max)
          print "cpu\t" a + 0 "\t" b + 0 }' /proc/sys/fs/aio-nr /proc/sys/fs/aio-max-nr /proc/cpuinfo 2>/dev/null
containers
probes
wait
cat "$tmp"/o.* 2>/dev/null
printf 't1\t%s\n' "$(date +%s.%N)"
exit 0
