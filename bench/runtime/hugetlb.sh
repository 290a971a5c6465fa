#!/bin/sh
# crun 1.8 refuses hybrid hosts where any controller sits in cgroup2 ("cgroups in hybrid mode
# not supported, drop all controllers from cgroupv2"). On this machine hugetlb is the one
# controller not mounted as v1, so it lands in /sys/fs/cgroup/unified unless a v1 hugetlb
# hierarchy exists.
#   up:   if hugetlb is offered by cgroup2, mount a v1 hugetlb hierarchy at
#         /sys/fs/cgroup/hugetlb (and remember that we did).
#   down: unmount it again, but only if `up` mounted it.
# Careful: unmounting the last mount of a v1 hierarchy without child cgroups destroys it and
# hands hugetlb back to cgroup2, which breaks crun; `down` therefore only undoes `up`.
set -eu
dir=/sys/fs/cgroup/hugetlb
marker=/run/skiff-bench-hugetlb-mounted
unified=/sys/fs/cgroup/unified/cgroup.controllers
case "${1:-}" in
up)
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then exit 0; fi   # pure v2 host
    if ! [ -f "$unified" ] || ! grep -qw hugetlb "$unified"; then exit 0; fi
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
