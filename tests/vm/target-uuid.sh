#!/bin/sh
# tests/vm/target-uuid.sh PATH: print the filesystem UUID that storage_main
# finds for the target path PATH with allow_disk_without_uuid = false, found
# the way upstream finds it (src/storage/store/StorageTarget.cc
# getDeviceUUID, src/common/utils/SysResource.cc scanDiskInfo):
#   1. stat(PATH).st_dev;
#   2. /proc/self/mountinfo: each line's major:minor (3rd field) and mount
#      source (2nd field after " - ");
#   3. `blkid -s UUID`: "<device>: UUID="<uuid>"" maps a source to its UUID;
#   4. the device number of a line whose source blkid knows -> that UUID.
# Exit 1 (printing why) when there is none: target creation fails then.
set -eu
path=$1
dev=$(stat -c '%d' "$path")
# glibc's makedev layout (major: bits 8-19 and 44-63, minor: bits 0-7 and 20-43)
maj=$(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) ))
min=$(( (dev & 0xff) | ((dev >> 12) & ~0xff) ))
uuids=$(blkid -s UUID)
uuid=$(awk -v want="$maj:$min" -v map="$uuids" '
    BEGIN {
        n = split(map, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (split(lines[i], f, " ") < 2) continue
            d = substr(f[1], 1, length(f[1]) - 1)          # "/dev/x:" -> "/dev/x"
            if (length(f[2]) >= 7) u[d] = substr(f[2], 7, length(f[2]) - 7)  # UUID="..."
        }
    }
    $3 == want {
        for (i = 7; i <= NF && $i != "-"; i++) ;
        if (i + 2 <= NF && ($(i + 2) in u)) found = u[$(i + 2)]   # the last line wins
    }
    END { if (found == "") exit 1; print found }' /proc/self/mountinfo) || {
    echo "no UUID for $path (device $maj:$min): not a mount of a device blkid knows" >&2
    exit 1
}
echo "$uuid"
