# m3fs-relay - the image relay of `m3fs cluster prepare -a` on a node
# (src/prepare/relay.c, docs/prepare.md "Relay"):
#   sh -c SCRIPT m3fs-relay COMMAND ARG...      (from m3fs)
#   sh DIR/relay.sh hop DIR                     (the forced command= of the
#                                                run's key in authorized_keys)
# DIR is <workDir>/images/.m3fs-relay, owned by the login user, mode 0700;
# it holds this run's key, known_hosts, this script and the relayed copies
# DIR/FILE.part.  A HOP is one word NAME,HOST,PORT,USER (a node of the chain).
#
#   setup DIR USER        (root) empty DIR and make it again for USER; check
#                         that ssh and `tee -p` are there; print "ok".
#   authorize MARK        read one authorized_keys line on stdin; drop the
#                         lines ending in " MARK" from ~/.ssh/authorized_keys
#                         and append the line (written beside it, renamed).
#   cleanup DIR MARK [all]  drop the MARK lines; remove DIR's key, known_hosts
#                         and script; with "all" every file in DIR.
#   probe DIR HOP         log in to HOP with the run's key and its "probe";
#                         print "m3fs-relay ok" when it answered.
#   send DIR FILE SELF [HOP...]
#                         stdin to DIR/FILE.part and, at the same time, to the
#                         first HOP (which gets the rest of the chain).  A hop
#                         that fails downstream does not stop this copy
#                         (tee -p).  Exit 0 when this node's copy was written.
#   size DIR FILE         the size of DIR/FILE.part in bytes (0: none).
#   hop DIR               the forced command: $SSH_ORIGINAL_COMMAND is "probe"
#                         or "recv FILE SELF [HOP...]" (checked: letters,
#                         digits and . _ , : @ - only; never evaluated).
#
# Test hook (tests/integration/test_relay.sh only): when the file
# /run/m3fs-test-corrupt-relay holds the line "corrupt FILE at SELF", the node
# SELF flips one byte of its copy of FILE after writing it and says so on
# stderr.  /run is cleared at boot and m3fs never writes there.
set -u

die() {
    echo "m3fs-relay: $*" >&2
    exit 2
}

# The hop's connection is shared: `probe` starts one master connection per
# next hop (OpenSSH ControlMaster), and each image's stream to that hop is a
# new session on it, so a chain pays its hops' SSH handshakes once per run,
# not once per image. The master ends at `cleanup`, or by itself 60 s after
# its last session (ControlPersist). Its socket is DIR/cm-<cksum of NAME>
# (DIR is 0700); a socket path has room for 107 bytes and ssh makes the
# master's under a name 17 bytes longer first, so a DIR longer than 72 means
# no sharing (every stream connects anew).
mux_path() { # DIR NAME: the control socket for hop NAME, or nothing
    [ "${#1}" -le 72 ] || return 0
    echo "$1/cm-$(printf %s "$2" | cksum | cut -d' ' -f1)"
}

next_ssh() { # DIR HOP [SSH-OPTION...] -- COMMAND...  (options: this script's words)
    nd=$1
    IFS=, read -r name host port user <<EOF
$2
EOF
    shift 2
    opts=
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
        opts="$opts $1"
        shift
    done
    [ "$#" -eq 0 ] || shift
    cm=$(mux_path "$nd" "$name")
    # shellcheck disable=SC2086 # opts: fixed words, split on purpose
    ssh -F /dev/null -T -i "$nd/key" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$nd/known_hosts" \
        -o GlobalKnownHostsFile=/dev/null -o CheckHostIP=no \
        -o HostKeyAlias="m3fs-relay-$name" -o ConnectTimeout=10 \
        -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -o LogLevel=ERROR \
        -o ControlPath="${cm:-none}" $opts -p "$port" -l "$user" -- "$host" "$@"
}

# probe's master for HOP, in the background with its stdio closed (a master
# holding the caller's stderr would hold the caller's channel open).
start_master() { # DIR HOP
    IFS=, read -r mname _ <<EOF
$2
EOF
    [ -n "$(mux_path "$1" "$mname")" ] || return 0
    next_ssh "$1" "$2" -O check -- </dev/null >/dev/null 2>&1 && return 0
    next_ssh "$1" "$2" -o ControlMaster=yes -o ControlPersist=60 -f -N -- \
        </dev/null >/dev/null 2>&1 || true
}

# Only the test enables this (see the header).
test_hook() { # PART FILE SELF
    h=/run/m3fs-test-corrupt-relay
    [ -f "$h" ] && grep -qx "corrupt $2 at $3" "$h" || return 0
    b=$(od -An -tu1 -j 1000 -N 1 "$1" | tr -d ' ')
    [ -n "$b" ] || return 0
    printf '%b' "\\0$(printf %o $(((b + 1) % 256)))" |
        dd of="$1" bs=1 seek=1000 conv=notrunc 2>/dev/null
    echo "m3fs-relay: TEST HOOK: $3 corrupted its copy of $2 on purpose ($h)" >&2
}

relay() { # DIR FILE SELF [HOP...]
    d=$1 f=$2 self=$3
    shift 3
    case $f in '' | .* | */*) die "bad file name '$f'" ;; esac
    part=$d/$f.part
    umask 077
    rm -f "$part" "$part.rc"
    if [ "$#" -eq 0 ]; then
        cat >"$part" || exit 1
    else
        first=$1
        shift
        nextname=${first%%,*}
        # The own copy's status survives the pipeline in a file; a dead
        # downstream hop (EPIPE) does not end tee -p.
        { tee -p "$part" || echo failed >"$part.rc"; } |
            { next_ssh "$d" "$first" -- recv "$f" "$nextname" "$@" >/dev/null ||
                echo "m3fs-relay: $self could not pass $f on to $nextname" >&2; }
        [ ! -e "$part.rc" ] || { rm -f "$part.rc"; exit 1; }
    fi
    test_hook "$part" "$f" "$self"
    exit 0
}

case ${1:-} in
setup)
    rm -rf "$2" && mkdir -p "$2" && chown "$3" "$2" && chmod 0700 "$2" || exit 1
    command -v ssh >/dev/null 2>&1 || die "no ssh client on the node"
    echo | tee -p /dev/null >/dev/null 2>&1 || die "tee -p is not supported (coreutils >= 8.24)"
    echo ok
    ;;
authorize)
    line=$(head -c 4096)
    mkdir -p "$HOME/.ssh" && chmod 0700 "$HOME/.ssh" || exit 1
    a=$HOME/.ssh/authorized_keys
    umask 077
    { [ ! -f "$a" ] || grep -v " $2\$" "$a"; printf '%s\n' "$line"; } >"$a.m3fs-relay" &&
        mv -f "$a.m3fs-relay" "$a"
    ;;
cleanup)
    a=$HOME/.ssh/authorized_keys
    if [ -f "$a" ] && grep -q " $3\$" "$a"; then
        umask 077
        grep -v " $3\$" "$a" >"$a.m3fs-relay"
        mv -f "$a.m3fs-relay" "$a" || exit 1
    fi
    for s in "$2"/cm-*; do # end this run's masters (see mux_path)
        [ -S "$s" ] && ssh -o ControlPath="$s" -O exit m3fs-relay >/dev/null 2>&1
        rm -f "$s"
    done
    if [ "${4:-}" = all ]; then
        [ ! -d "$2" ] || find "$2" -mindepth 1 -delete 2>/dev/null
    else
        rm -f "$2/key" "$2/known_hosts" "$2/relay.sh"
    fi
    exit 0
    ;;
probe)
    start_master "$2" "$3"
    next_ssh "$2" "$3" -- probe </dev/null
    ;;
size)
    stat -c %s "$2/$3.part" 2>/dev/null || echo 0
    ;;
send)
    shift
    relay "$@"
    ;;
hop)
    d=$2
    set -f
    c=${SSH_ORIGINAL_COMMAND:-}
    case $c in '' | *[!A-Za-z0-9._,:@\ -]*) die "refused command '$c'" ;; esac
    # shellcheck disable=SC2086 # split on purpose: words checked above, no globbing
    set -- $c
    case $1 in
    probe) echo "m3fs-relay ok" ;;
    recv)
        shift
        [ "$#" -ge 2 ] || die "recv: FILE SELF [HOP...]"
        relay "$d" "$@"
        ;;
    *) die "refused command '$1'" ;;
    esac
    ;;
*)
    die "unknown command ${1:-(none)}"
    ;;
esac
