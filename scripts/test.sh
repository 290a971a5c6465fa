#!/usr/bin/env bash
# Runs Skiff's whole test suite: one workspace build, then every test with nextest.
# Needs root (containers, cgroups, mounts); installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# A CI build starts from nothing: incremental compilation only costs time there.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
cargo build --workspace --all-targets --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"
