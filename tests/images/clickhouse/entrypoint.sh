#!/bin/bash
# Stand-in of the ClickHouse image's entrypoint (m3fs test fixture).
# CLICKHOUSE_USER / CLICKHOUSE_PASSWORD (default: user "default", no password)
# and <tcp_port> from /etc/clickhouse-server/config.d/*.xml (default 9000).
mkdir -p /var/lib/clickhouse /var/log/clickhouse-server
exec /usr/bin/clickhouse-server "$@"
