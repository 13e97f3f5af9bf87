#!/bin/sh
# admin_cli.sh - written by m3fs: run 3FS admin_cli inside the mgmtd container
# with the root token, e.g.  ./admin_cli.sh list-nodes
tty=
if [ -t 0 ] && [ -t 1 ]; then tty=-t; fi
# The token is in admin_cli_root.toml (0600) as user_info.token, the only way
# admin_cli takes it (upstream src/client/bin/admin_cli.cc): never in argv.
exec docker exec -i $tty {{ container }} /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli_root.toml "$@"
