#!/bin/sh
# run.sh BUILD - `make run`: start `knode standalone` with its data under
# build/run/ (a throwaway one-node cluster). The control plane and node agent
# are being built issue by issue; until `knode standalone` runs, this says so
# and exits non-zero.
set -u
BUILD=${1:-build}
DATA=$BUILD/run
mkdir -p "$DATA"
echo "knode: starting standalone (data dir $DATA; kubectl --kubeconfig $DATA/admin.kubeconfig)"
exec "$BUILD/knode" standalone --data-dir "$DATA"
