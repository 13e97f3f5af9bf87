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
#   -p NAME CTR CMD   a cluster probe: CMD (sh -c), reported when container
#                     CTR runs here (its standard output and error kept apart)
#
# Prints one fact per line, fields separated by tabs; the format is in
# docs/status.md and is parsed by src/status/facts.c.  Everything that may
# wait runs at once in the background, each bounded (`timeout`: 2 s for a
# stat or df, 6 s for a probe, 10 s for docker): the probes start with the
# script, before the container states are known (the probe of a container
# that does not run is then reported `not-running`, whatever it printed).
# Few processes are started, as each costs the node milliseconds of CPU
# (and 20 nodes of a lab share one machine): no temporary directory unless
# there are probes, one awk for the node's /proc facts, one curl for all
# containers, no second `date`.  A background job prints whole lines, each
# in one write; the foreground keeps its output in variables until every
# job has ended.
exec </dev/null
tab='	'
nl='
'
ctrs='' tzctr='' addr='' np=0 tmp=''

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
        detail=$(timeout -s KILL 2 stat -c %i "$1" 2>&1 >/dev/null)
        case $? in
        0) answer=ok detail= ;;
        137) answer=timeout detail='no answer within 2 s' ;;
        *) answer=stale detail=$(printf '%s' "$detail" | flat) ;;
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

token_job() {
    mode=$(stat -c %a "$1" 2>/dev/null) || mode=missing
    printf 'token\t%s\t%s\n' "$1" "$mode"
}

# (awk flushes each line: the lines of background jobs must not mix)
rdma_job() {
    if command -v rdma >/dev/null 2>&1; then
        printf 'rdma-tool\trdma\n'
        rdma link show 2>/dev/null | awk '$1 == "link" {
            split($2, a, "/"); st = "-"; nd = "-"
            for (i = 3; i < NF; i++) { if ($i == "state") st = $(i + 1); if ($i == "netdev") nd = $(i + 1) }
            print "rdma\t" a[1] "\t" a[2] "\t" st "\t" nd; fflush() }'
    elif command -v ibv_devinfo >/dev/null 2>&1; then
        printf 'rdma-tool\tibv_devinfo\n'
        ibv_devinfo 2>/dev/null | awk '$1 == "hca_id:" { dev = $2 } $1 == "port:" { port = $2 }
            $1 == "state:" { st = $2; sub(/^PORT_/, "", st); print "rdma\t" dev "\t" port "\t" st "\t-"; fflush() }'
    else
        printf 'rdma-tool\tnone\n'
    fi
}

# The node's own facts in one awk: the machine (/proc/sys/kernel/arch, else
# uname -m), fs.aio-nr and fs.aio-max-nr, the CPU flags and, with -a, the
# NIC holding the address (`ip -o -4 addr show`) and its operstate.
# (awk, not the shell's read: a sysctl file read a byte at a time ends after one)
node_facts() {
    set -- src=aio /proc/sys/fs/aio-nr src=max /proc/sys/fs/aio-max-nr src=cpu /proc/cpuinfo
    # shellcheck disable=SC2016 # an awk program
    prog='src == "ip" { split($4, x, "/"); if (x[1] == a && !nic) nic = $2 }
        src == "aio" { nr = $1 } src == "max" { max = $1 }
        src == "cpu" && /^flags/ && !seen {
            seen = 1; for (i = 3; i <= NF; i++) { if ($i == "avx512f") f = 1; if ($i == "avx2") g = 1 } }
        END {
            if ((getline m < "/proc/sys/kernel/arch") <= 0 || m == "") { "uname -m" | getline m }
            print "machine\t" m
            print "aio\t" (nr == "" ? "-" : nr) "\t" (max == "" ? "-" : max)
            print "cpu\t" f + 0 "\t" g + 0
            if (a == "") exit
            st = "-"; if (nic != "") { o = "/sys/class/net/" nic "/operstate"; if ((getline st < o) <= 0) st = "-" }
            print "nic\t" a "\t" (nic != "" ? nic : "-") "\t" st }'
    if [ -n "$addr" ]; then
        ip -o -4 addr show 2>/dev/null | awk -v a="$addr" "$prog" src=ip - "$@" 2>/dev/null
    else
        awk "$prog" "$@" 2>/dev/null
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

docker_error() {
    printf 'docker\terror\t%s\n' "$1"
    return 1
}

# The containers of this cluster: lines "ctrjson" (or "ctr"), then "pid"
# and "limits" of each running one's main process.  Through the Docker
# Engine API with curl when both are there (one light process: the node's
# inspect documents go to m3fs as they are), else one `docker inspect`.
containers() {
    [ -n "$ctrs" ] || return 0
    sock=/var/run/docker.sock
    case ${DOCKER_HOST:-} in unix://*) sock=${DOCKER_HOST#unix://} ;; ?*) sock= ;; esac
    if [ -n "$sock" ] && [ -S "$sock" ] && command -v curl >/dev/null 2>&1; then
        ctr_api
    else
        ctr_cli
    fi
}

# GET /containers/NAME/json for each (an unknown name answers a "message"),
# each document followed by its URL on a line of its own.
ctr_api() {
    set --
    for c in $ctrs; do set -- "$@" "http://docker/containers/$c/json"; done
    j=$(timeout -s KILL 10 curl -s --unix-socket "$sock" -w '\n%{url_effective}\n' "$@" 2>&1) ||
        docker_error "cannot reach dockerd at $sock (curl exit $?)" || return 1
    printf 'docker\tok\n'
    # shellcheck disable=SC2016 # an awk program
    printf '%s\n' "$j" | awk '
        /^http:\/\/docker\/containers\/[^\/]*\/json$/ {
            n = $0; sub(/^http:\/\/docker\/containers\//, "", n); sub(/\/json$/, "", n)
            print "ctrjson\t" n "\t" doc
            st = ""
            if (match(doc, /"Status":"[a-z]*"/)) st = substr(doc, RSTART + 10, RLENGTH - 11)
            if (st == "running" && match(doc, /"Pid":[0-9]+/)) pid(n, substr(doc, RSTART + 6, RLENGTH - 6))
            doc = ""; next }
        { doc = doc $0 }
        function pid(n, p,  f, l, x, nf) {
            print "pid\t" n "\t" p
            f = "/proc/" p "/limits"
            while ((getline l < f) > 0) {
                split(l, x)
                if (l ~ /^Max open files/) nf = x[4]
                if (l ~ /^Max locked memory/) print "limits\t" n "\t" nf "\t" x[4]
            }
            close(f) }'
}

# One `docker inspect` for all: lines "ctr NAME STATE RESTARTS STARTED IMAGE PID".
ctr_cli() {
    # shellcheck disable=SC2086 # container names are single words
    o=$(timeout -s KILL 10 docker inspect -f '{{.Name}} {{.State.Status}} {{.RestartCount}} {{.State.StartedAt}} {{.Config.Image}} {{.State.Pid}}' $ctrs 2>&1)
    case $?:$o in
    0:* | *[Nn]o\ such*) ;;
    *) docker_error "$(printf '%s\n' "$o" | head -n 1 | flat)"; return 1 ;;
    esac
    printf 'docker\tok\n'
    found=' ' lims=''
    while read -r name state restarts started image pid; do
        case $name in /*) name=${name#/} ;; *) continue ;; esac
        found="$found$name "
        printf 'ctr\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$state" "$restarts" "$started" "$image" "$pid"
        [ "$state" = running ] || continue
        case $pid in '' | 0 | *[!0-9]*) continue ;; esac
        printf 'pid\t%s\t%s\n' "$name" "$pid"
        [ -r "/proc/$pid/limits" ] && lims="$lims c=$name /proc/$pid/limits"
    done <<EOF
$o
EOF
    for c in $ctrs; do
        case $found in *" $c "*) ;; *) printf 'ctr\t%s\tmissing\n' "$c" ;; esac
    done
    # shellcheck disable=SC2086 # names and /proc paths, single words
    [ -z "$lims" ] || awk '/^Max open files/ { n = $4 }
        /^Max locked memory/ { print "limits\t" c "\t" n "\t" $4 }' $lims
}

# p: the pid of container $1 when the container facts ($cf) say it runs, else "".
pid_of() {
    p=${cf#*"${nl}pid${tab}$1${tab}"}
    if [ "$p" = "$cf" ]; then p=''; else p=${p%%"$nl"*}; fi
}

# NAME CMD I: the probe's block into $tmp/b.I: "begin", its output lines
# after '|', its error lines after '!', "end" with its exit status.
probe_job() {
    timeout -s KILL 6 sh -c "$2" >"$tmp/o.$3" 2>"$tmp/e.$3"
    rc=$?
    awk -v n="$1" -v rc="$rc" 'BEGIN { print "begin\t" n } { print p $0 }
        END { print "end\t" n "\t" rc }' p='|' "$tmp/o.$3" p='!' "$tmp/e.$3" >"$tmp/b.$3"
}

# The probes' blocks; that of a container that does not run: not-running.
probes() {
    i=0 ran='' name='' ctr=''
    while [ "$i" -lt "$np" ]; do
        i=$((i + 1))
        eval "name=\$pn$i ctr=\$pc$i"
        pid_of "$ctr"
        if [ -n "$p" ]; then ran="$ran $tmp/b.$i"
        else printf 'begin\t%s\nend\t%s\tnot-running\n' "$name" "$name"; fi
    done
    # shellcheck disable=SC2086 # paths this script made, single words
    [ -z "$ran" ] || cat $ran
}

# The end time: the start time plus the time /proc/uptime saw pass, else
# (no nanoseconds from date, as busybox's) `date` once more.
t1() {
    read -r up1 _ </proc/uptime
    s=${t0%%.*} f=${t0#*.}
    case $up0/$up1 in *[0-9].[0-9][0-9]/*[0-9].[0-9][0-9]) ;; *) f=x ;; esac
    case $f in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) ;; *) f=x ;; esac
    if [ "$f" = x ]; then
        printf 't1\t%s\n' "$(date +%s.%N)"
        return
    fi
    d=$((((${up1%.*} - ${up0%.*}) * 100 + 1${up1#*.} - 1${up0#*.}) * 10000000 + 1$f - 1000000000))
    printf 't1\t%s.%09d\n' $((s + d / 1000000000)) $((d % 1000000000))
}

t0=$(date +%s.%N)
read -r up0 _ </proc/uptime
read -r host </proc/sys/kernel/hostname
printf 'm3fs-facts\t1\nt0\t%s\nhost\t%s\n' "$t0" "$host"
while [ $# -gt 0 ]; do
    case $1 in
    -c) ctrs="$ctrs $2"; shift 2 ;;
    -z) tzctr=$2; shift 2 ;;
    -f) fuse_job "$2" & shift 2 ;;
    -t) i=0
        while [ "$i" -lt "$3" ]; do target_job "$2" "$i" & i=$((i + 1)); done
        shift 3 ;;
    -a) addr=$2; shift 2 ;;
    -k) token_job "$2" & shift 2 ;;
    -r) rdma_job & shift ;;
    -p) if [ -z "$tmp" ]; then
            tmp=$(mktemp -d) || exit 1
            trap 'rm -rf "$tmp"' EXIT
        fi
        np=$((np + 1))
        eval "pn$np=\$2 pc$np=\$3"
        probe_job "$2" "$4" "$np" &
        shift 4 ;;
    *) echo "m3fs-facts: unknown argument $1" >&2; exit 2 ;;
    esac
done
nf=$(node_facts)
cf=$nl$(containers)$nl
tz=''
if [ -n "$tzctr" ]; then
    pid_of "$tzctr"
    [ -z "$p" ] || tz="tz$tab$tzctr$tab$(tz_of "$p")$nl"
fi
wait
printf '%s\n%s%s' "$nf" "${cf#"$nl"}" "$tz"
probes
t1
exit 0
