#!/bin/sh
# Start-up latency of Skiff's runtime vs runc and crun on the same busybox bundle (as root).
# Usage: bench/runtime/run.sh [ITERATIONS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
cargo build --release -p skiff-runtime --bin skiff-runtime-bench >&2
target=${CARGO_TARGET_DIR:-$repo/target}
"$here/hugetlb.sh" up
trap '"$here/hugetlb.sh" down' EXIT
"$target/release/skiff-runtime-bench" "${1:-30}"
