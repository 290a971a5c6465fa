#!/usr/bin/env bash
# Builds the demo app's image (static busybox, no registry needed) as an OCI archive.
# Usage: scripts/demo-image.sh OUT.tar
set -euo pipefail
out=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
umoci init --layout img
umoci new --image img:1.0
umoci unpack --image img:1.0 bundle >/dev/null
mkdir -p bundle/rootfs/bin bundle/rootfs/www bundle/rootfs/tmp
cp /bin/busybox bundle/rootfs/bin/
for applet in sh httpd echo cat ls sleep wget hostname date env tar; do
  ln -sf busybox "bundle/rootfs/bin/$applet"
done
umoci repack --image img:1.0 bundle
umoci config --image img:1.0 --config.env PATH=/bin --config.cmd sh
tar -C img -cf "$out" .
