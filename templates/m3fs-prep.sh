# m3fs-prep - the checks and image bookkeeping of `m3fs cluster prepare` on a
# node (src/prepare/checks.c, images.c): sh -c SCRIPT m3fs-prep COMMAND ARG...
#
#   docker
#       print docker's root directory; exit 42 when docker is not installed.
#   df PATH
#       `df -Pk` of the nearest existing directory at or above PATH.
#   image REF MARKER
#       print "1 SUM" when image REF is present, "0 SUM" when not; SUM is the
#       first 200 bytes of MARKER (the sha256 of the bundle file last loaded).
#   images DIR FILE...
#       mkdir -p DIR; remove what an interrupted upload of each FILE left:
#       DIR/.FILE.part, upload temporaries DIR/.m3fs-tmp..FILE.part.* and,
#       once 10 minutes old (another run may be writing it), staged ones
#       /var/tmp/.m3fs-upload..FILE.part.*; print each path removed.  An
#       empty relay directory DIR/.m3fs-relay (a node the relay set up but
#       brought nothing) goes too.
#   done SHA MARKER PART
#       record SHA in MARKER (written beside it, then renamed), then remove
#       the uploaded PART.
case $1 in
docker)
    command -v docker >/dev/null 2>&1 || exit 42
    docker info --format '{{.DockerRootDir}}'
    ;;
df)
    d=$2
    while [ ! -d "$d" ]; do d=$(dirname "$d"); done
    df -Pk "$d"
    ;;
image)
    m=$(head -c 200 "$3" 2>/dev/null)
    if docker image inspect "$2" >/dev/null 2>&1; then i=1; else i=0; fi
    printf '%s %s\n' "$i" "$m"
    ;;
images)
    d=$2
    shift 2
    mkdir -p "$d" || exit 1
    for f; do
        for p in "$d/.$f.part" "$d/.m3fs-tmp..$f.part".*; do
            [ -f "$p" ] && rm -f "$p" && echo "$p"
        done
        find /var/tmp -maxdepth 1 -type f -name ".m3fs-upload..$f.part.*" -mmin +10 \
            -print -exec rm -f {} + 2>/dev/null
    done
    rmdir "$d/.m3fs-relay" 2>/dev/null
    exit 0
    ;;
done)
    printf '%s\n' "$2" >"$3.tmp" && mv -f "$3.tmp" "$3" && rm -f "$4"
    ;;
*)
    echo "m3fs-prep: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
