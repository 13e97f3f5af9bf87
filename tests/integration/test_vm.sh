#!/bin/bash
# Integration test: the RXE smoke test of `m3fs cluster prepare` against two
# real QEMU VMs (tests/vm/run.sh; about 10 minutes on 2 cores once the VM
# image is cached, about 4 more to build it).  M3FS_SKIP_VM=1 skips it.
{ # read as one compound command, so editing this file cannot disturb a run
cd "$(dirname "$0")/../.." || exit 1
if [ "${M3FS_SKIP_VM:-0}" = 1 ]; then
    echo "SKIP: M3FS_SKIP_VM=1"
    exit 77
fi
M3FS_BIN=${M3FS_BIN:-$PWD/build/m3fs} exec bash tests/vm/run.sh
}
