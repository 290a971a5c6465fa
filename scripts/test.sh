#!/usr/bin/env bash
# Runs Skiff's whole test suite: one workspace build, then every test with nextest.
# Needs root (containers, cgroups, mounts); installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --workspace --all-targets --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"
