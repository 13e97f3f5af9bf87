#!/bin/bash
# LAB-ONLY SHIM - never install this on a real machine.
#
# scripts/lab.sh bind-mounts this file over `docker` inside every lab node
# (/usr/bin/docker, and /usr/local/bin/docker if that exists). Lab nodes are
# namespaces on a sandboxed machine that lacks CAP_SYS_RESOURCE and cannot
# raise the memlock limit, so two flags that real 3FS deployments use fail
# there. For `run`/`create` this shim:
#   --privileged           -> --cap-add ALL --cap-drop SYS_RESOURCE
#                             --security-opt apparmor=unconfined
#   --ulimit memlock=...   -> dropped (the node's default limit applies)
#   --ulimit nofile=S:H    -> capped at the node's hard limit (3FS asks for
#                             1048576, above this sandbox's hard limit)
# and for `exec` it drops --privileged. Everything after the image name (the
# container's own command) is passed through untouched. Every invocation's
# original argv is appended to /run/m3fs-lab/docker-argv.log on the node
# (= $M3FS_LAB_DIR/nodes/n<i>/docker-argv.log on the lab host).
# m3fs itself does not know about this shim.

real=/run/m3fs-lab-bin/docker.real
log=/run/m3fs-lab/docker-argv.log

umask_saved=$(umask)
umask 077 # the argv may hold secrets (container environment)
{
    TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T pid=%s uid=%s' -1 "$$" "$EUID"
    printf ' %q' "$@"
    printf '\n'
} >>"$log" 2>/dev/null
umask "$umask_saved"

out=()

# take_value: append "$1" and its separate value (if any) to out.
# Sets `used` to how many arguments were consumed.
take_value() {
    if [ "$#" -ge 2 ]; then
        out+=("$1" "$2")
        used=2
    else
        out+=("$1")
        used=1
    fi
}

# Global options before the subcommand (docker -H x run ...).
while [ "$#" -gt 0 ]; do
    case $1 in
    -H | --host | --config | -c | --context | -l | --log-level | \
        --tlscacert | --tlscert | --tlskey)
        take_value "$@"
        shift "$used"
        ;;
    -*) out+=("$1"); shift ;;
    *) break ;;
    esac
done
[ "$#" -gt 0 ] || exec "$real" "${out[@]}"

mode=pass
case $1 in
run | create) mode=rewrite ;;
exec) mode='exec' ;;
container)
    case ${2-} in
    run | create) mode=rewrite ;;
    exec) mode='exec' ;;
    esac
    if [ "$mode" != pass ]; then
        out+=("$1")
        shift
    fi
    ;;
esac
[ "$mode" != pass ] || exec "$real" "${out[@]}" "$@"
out+=("$1")
shift

# Options of run/create/exec, up to the image (or container) name.
while [ "$#" -gt 0 ]; do
    a=$1
    case $a in
    --)
        break
        ;;
    --privileged | --privileged=true)
        if [ "$mode" = rewrite ]; then
            out+=(--cap-add ALL --cap-drop SYS_RESOURCE
                --security-opt apparmor=unconfined)
        fi
        shift
        ;;
    --privileged=false)
        shift
        ;;
    --ulimit)
        case ${2-} in
        memlock=*) shift 2 ;;
        nofile=*) h=$(ulimit -Hn); out+=(--ulimit "nofile=$h:$h"); shift 2 ;;
        *) take_value "$@"; shift "$used" ;;
        esac
        ;;
    --ulimit=memlock=*)
        shift
        ;;
    --ulimit=nofile=*)
        h=$(ulimit -Hn)
        out+=(--ulimit "nofile=$h:$h")
        shift
        ;;
    --*=*)
        out+=("$a")
        shift
        ;;
    --detach | --interactive | --tty | --rm | --init | --read-only | \
        --publish-all | --no-healthcheck | --oom-kill-disable | --sig-proxy | \
        --disable-content-trust | --quiet | --help | --no-stdin)
        out+=("$a")
        shift
        ;;
    -[ditPq] | -[ditPq][ditPq] | -[ditPq][ditPq][ditPq])
        out+=("$a")
        shift
        ;;
    --* | -?)
        take_value "$@"
        shift "$used"
        ;;
    -*)
        out+=("$a") # short option with its value attached: -eK=V
        shift
        ;;
    *)
        break
        ;;
    esac
done

exec "$real" "${out[@]}" "$@"
