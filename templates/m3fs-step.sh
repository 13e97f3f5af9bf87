# m3fs-step - how the runner (src/plan/run.c) sends a step target that has a
# skip_if check: sh -c SCRIPT m3fs-step DONE_MARK SKIP_IF CMD
#   SKIP_IF runs quietly, without stdin; when it exits 0 the target is done
#   already: print DONE_MARK and exit 0.  Otherwise CMD runs in its place.
if (sh -c "$2") >/dev/null 2>&1 </dev/null; then
    echo "$1"
    exit 0
fi
exec sh -c "$3"
