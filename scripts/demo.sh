#!/usr/bin/env bash
# Starts a Skiff cluster on this machine and runs a demo app on it with the real kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --release --locked -p skiff
data_dir=${SKIFF_DATA_DIR:-/var/lib/skiff}
port=${SKIFF_PORT:-6443}
log=$(mktemp /tmp/skiff-server.XXXXXX.log)
./target/release/skiff server --data-dir "$data_dir" --https-port "$port" >"$log" 2>&1 &
echo "skiff server started (pid $!, log $log)"
export KUBECONFIG="$data_dir/kubeconfig.yaml"
for _ in $(seq 100); do grep -q "Skiff is running" "$log" && break; sleep 0.1; done
kubectl=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
set -x
$kubectl apply -f examples/demo-app.yaml
$kubectl get all -A
$kubectl describe deployment web -n demo
{ set +x; } 2>/dev/null
echo
echo "The cluster keeps running. Try: export KUBECONFIG=$KUBECONFIG; kubectl get all -A"
echo "Stop it with: kill $(pgrep -f "skiff server --data-dir $data_dir" | head -1)"
