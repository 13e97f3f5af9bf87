#!/bin/sh
# admin_cli.sh - written by m3fs: run 3FS admin_cli inside the mgmtd container
# with the root token, e.g.  ./admin_cli.sh list-nodes
tty=
if [ -t 0 ] && [ -t 1 ]; then tty=-t; fi
exec docker exec -i $tty {{ container }} sh -c 'exec /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml --config.user_info.token "$(cat /opt/3fs/etc/token.txt)" "$@"' admin_cli "$@"
