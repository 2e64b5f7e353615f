#!/usr/bin/env bash
# `score` with the default fitness, locally and with --redis (2 local workers, --threads 1 each), in one
# command sequence on one machine: wall and CPU (user+sys) of each process, and whether the rows are equal.
# Usage: bench/queue-ensemble.sh [cells=200] [chunk=10]   (needs redis-server and a built dist/)
set -euo pipefail
N=${1:-200}
CHUNK=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI="$ROOT/dist/cli/main.js"
T=$(mktemp -d)
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
URL="redis://127.0.0.1:$PORT"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
RPID=$!
WPIDS=()
cleanup() {
  for p in "${WPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  kill "$RPID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
# CPU seconds (user + sys) of a running process, from /proc (clock ticks)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

lscpu | grep -E '^(Model name|CPU\(s\)):'
echo "node $(node --version); $N NB201 cells (--sample $N --seed 1), $(node "$CLI" score --help | grep -o "(default [a-z-]*)" | head -1 | tr -d "()") fitness, jsonl"
SCORE=(score --sample "$N" --seed 1 --format jsonl --no-progress)

/usr/bin/time -f 'local:    %e s wall, %U s user + %S s sys' node "$CLI" "${SCORE[@]}" -o "$T/local.jsonl"

for i in 1 2; do
  node "$CLI" worker --redis "$URL" --threads 1 2>"$T/w$i.log" &
  WPIDS+=($!)
done
until grep -q 'waiting for jobs' "$T/w1.log" && grep -q 'waiting for jobs' "$T/w2.log"; do sleep 0.1; done
before=("$(cpu "${WPIDS[0]}")" "$(cpu "${WPIDS[1]}")")
/usr/bin/time -f 'producer: %e s wall, %U s user + %S s sys' \
  node "$CLI" "${SCORE[@]}" -o "$T/remote.jsonl" --redis "$URL" --chunk "$CHUNK"
for i in 0 1; do
  echo "worker $((i + 1)): $(awk -v a="$(cpu "${WPIDS[$i]}")" -v b="${before[$i]}" 'BEGIN { printf "%.2f", a - b }') s CPU during the run"
done
if cmp -s "$T/local.jsonl" "$T/remote.jsonl"; then
  echo "rows equal ($(wc -l <"$T/remote.jsonl") lines, byte for byte)"
else
  echo "ROWS DIFFER"
  exit 1
fi
