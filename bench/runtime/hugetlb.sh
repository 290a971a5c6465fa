#!/bin/sh
# crun 1.8 on a hybrid cgroup host (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)
# expects a v1 hugetlb hierarchy. `hugetlb.sh up` mounts one if missing, `hugetlb.sh down`
# undoes exactly what `up` did (a marker file records that we mounted it).
set -eu
dir=/sys/fs/cgroup/hugetlb
marker=/run/skiff-bench-hugetlb-mounted
case "${1:-}" in
up)
    if [ -f /sys/fs/cgroup/cgroup.controllers ] || mountpoint -q "$dir"; then exit 0; fi
    mkdir -p "$dir"
    mount -t cgroup -o hugetlb cgroup "$dir"
    touch "$marker"
    ;;
down)
    if [ -f "$marker" ]; then
        umount "$dir"
        rmdir "$dir"
        rm -f "$marker"
    fi
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
