# Network facts for `m3fs cluster prepare`'s verification (templates/net-check.sh).
{{ lib }}
for d in $(m3fs_selected); do echo "sel $d"; done
for w in $(m3fs_unmatched); do echo "unmatched $w"; done
m3fs_links | while read -r dev port st nd; do echo "link $dev $port $st $nd"; done
for u in /dev/infiniband/uverbs*; do [ -e "$u" ] && echo "uverbs ${u##*/}"; done
echo "aio $(cat /proc/sys/fs/aio-max-nr 2>/dev/null || echo 0)"
command -v rdma >/dev/null 2>&1 || echo "nordma"
exit 0
