#!/usr/bin/env bash
# Installs what Skiff's build, demo and tests need on a fresh Debian machine (run as root).
set -euo pipefail
packages=(busybox-static docker-registry skopeo umoci runc crun nftables iproute2 iptables conntrack
          protobuf-compiler curl jq hyperfine)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The official Python client, for the cross-client tests.
python3 -c 'import kubernetes' 2>/dev/null || python3 -m pip install -q kubernetes
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
