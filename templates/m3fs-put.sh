# m3fs-put - run by m3fs (sh -c SCRIPT m3fs-put ...) for the files of a PUT
# step on one node (src/plan/put.c) and for an upload's last move
# (src/remote/files.c).
#
#   check FILE...
#       one "SHA256 MODE" line per FILE (mode in octal), "- -" when missing.
#   write DIR... -- TMP MODE FILE [TMP MODE FILE]...
#       with umask 077: mkdir -p each DIR, extract the tar stream on stdin
#       under /, then for each triple chmod MODE TMP and rename TMP to FILE
#       (a file is replaced whole or not at all).
#   place TMP MODE FILE [root]
#       (chown TMP to root:root when asked,) chmod MODE TMP, rename it to FILE.
#   clean AGE DIR PATTERN...
#       remove the regular files directly in DIR whose names match a PATTERN
#       and that were not written in the last AGE minutes (0: any): what an
#       upload killed mid-way (m3fs killed, SSH dropped) left behind, which
#       may be gigabytes (issue 20).  Prints "removed FILE (N bytes)" each.
case $1 in
clean)
    age=$2 dir=$3
    shift 3
    [ -d "$dir" ] || exit 0
    for pat; do
        if [ "$age" -gt 0 ]; then
            find "$dir" -maxdepth 1 -type f -name "$pat" -mmin +"$age"
        else
            find "$dir" -maxdepth 1 -type f -name "$pat"
        fi
    done | while IFS= read -r f; do
        n=$(stat -c %s "$f" 2>/dev/null) && rm -f "$f" && echo "removed $f (${n} bytes)"
    done
    ;;
place)
    if [ "${5:-}" = root ]; then chown 0:0 "$2" || exit 1; fi
    chmod "$3" "$2" && mv -f "$2" "$4"
    ;;
check)
    shift
    for f; do
        if [ -f "$f" ]; then
            printf '%s %s\n' "$(sha256sum <"$f" | cut -d ' ' -f 1)" "$(stat -c %a "$f")"
        else
            echo '- -'
        fi
    done
    ;;
write)
    shift
    umask 077
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        mkdir -p "$1" || exit 1
        shift
    done
    shift
    tar -x -o -f - -C / || exit 1
    while [ $# -ge 3 ]; do
        chmod "$2" "$1" || exit 1
        mv -f "$1" "$3" || exit 1
        shift 3
    done
    ;;
*)
    echo "m3fs-put: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
