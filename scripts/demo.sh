#!/usr/bin/env bash
# Starts a Skiff cluster on this machine and runs a demo app on it with the real kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
if [ -z "${SKIFF_BIN:-}" ]; then cargo build --release --locked -p skiff; fi
skiff=${SKIFF_BIN:-$PWD/target/release/skiff}
data_dir=${SKIFF_DATA_DIR:-/var/lib/skiff}
port=${SKIFF_PORT:-6443}
kubectl=/usr/lib/google-cloud-sdk/bin/kubectl.1.33

# The demo image is built locally and imported: no registry needed.
image=$(mktemp /tmp/skiff-demo-web.XXXXXX.tar)
./scripts/demo-image.sh "$image"
"$skiff" image --data-dir "$data_dir" import "$image" --name skiff.local/web:1.0
rm -f "$image"

log=$(mktemp /tmp/skiff-server.XXXXXX.log)
"$skiff" server --data-dir "$data_dir" --https-port "$port" >"$log" 2>&1 &
echo "skiff server started (pid $!, log $log)"
export KUBECONFIG="$data_dir/kubeconfig.yaml"
for _ in $(seq 300); do grep -q "Skiff is running" "$log" && break; sleep 0.1; done
$kubectl wait --for=condition=Ready node --all --timeout=60s

set -x
$kubectl apply -f examples/demo-web.yaml
$kubectl rollout status deployment/web -n demo --timeout=120s
$kubectl get all -n demo -o wide
{ set +x; } 2>/dev/null
pod=$($kubectl get pods -n demo -l app=web -o jsonpath='{.items[0].metadata.name}')
echo "--- $kubectl exec -n demo $pod -- wget -qO- http://127.0.0.1:8080/index.html"
$kubectl exec -n demo "$pod" -- wget -qO- http://127.0.0.1:8080/index.html
echo
ip=$($kubectl get service web -n demo -o jsonpath='{.spec.clusterIP}')
echo "--- curl http://$ip/index.html (the Service's ClusterIP)"
for _ in $(seq 50); do curl -sf --max-time 2 "http://$ip/index.html" && break; sleep 0.2; done
echo
echo "The cluster keeps running. Try: export KUBECONFIG=$KUBECONFIG; kubectl get pods -A -o wide"
echo "Stop it with: kill $(pgrep -f "skiff server --data-dir $data_dir" | head -1)"
