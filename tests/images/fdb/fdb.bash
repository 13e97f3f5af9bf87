#!/bin/bash
# Stand-in of the FoundationDB image's start script (m3fs test fixture).
# Environment as in the official image: FDB_CLUSTER_FILE (default
# /var/fdb/fdb.cluster), FDB_CLUSTER_FILE_CONTENTS (written to that file),
# FDB_PORT (default 4500). Data in /var/fdb/data, logs in /var/fdb/logs.
mkdir -p /var/fdb/data /var/fdb/logs
exec /usr/bin/fdbserver "$@"
