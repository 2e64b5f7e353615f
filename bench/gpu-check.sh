#!/usr/bin/env bash
# One unattended GPU check (< 8 minutes) for a machine with an NVIDIA GPU, nvcc and Node >= 20:
#   bash bench/gpu-check.sh
# SWAPNAS_PREBUILT=1 skips the build and uses the dist/ and build/Release/swapnas.node already there (e.g. copied to
# a machine without registry access; build them with SWAPNAS_NATIVE_ARCH=0 SWAPNAS_ARCH_FLAGS=-march=x86-64-v3 when
# the CPUs differ). Without node_modules/.bin/vitest the test step is skipped and parity rests on the benchmark,
# which compares every count with the native backend and exits non-zero on a mismatch.
# 1. builds (npm ci, or npm run build when node_modules exists) with SWAPNAS_CUDA=1, so a missing nvcc fails;
# 2. runs the CUDA parity tests against the native backend (SWAPNAS_REQUIRE_CUDA=1: a skip is a failure);
# 3. benchmarks native vs cuda (bench/gpu-bench.mjs) and prints the table last (also bench/out/gpu-bench.json).
# Each step has its own time limit; the exit status is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
export SWAPNAS_CUDA=1 SWAPNAS_REQUIRE_CUDA=1
start=$SECONDS
status=0
step() { echo "== gpu-check: $* ($((SECONDS - start)) s elapsed)" >&2; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 2>/dev/null || echo "nvidia-smi unavailable" >&2
if [ "${SWAPNAS_PREBUILT:-0}" != 1 ]; then
  nvcc --version | tail -1 >&2 || { echo "gpu-check: nvcc not on PATH" >&2; exit 1; }
fi

step "build"
if [ "${SWAPNAS_PREBUILT:-0}" = 1 ]; then
  echo "gpu-check: SWAPNAS_PREBUILT=1, using the existing dist/ and build/Release/swapnas.node" >&2
elif [ -d node_modules ]; then
  timeout 240 npm run build >&2 || { echo "gpu-check: build failed" >&2; exit 1; }
else
  timeout 300 npm ci >&2 || { echo "gpu-check: npm ci failed" >&2; exit 1; }
fi
node -e "const a=require('./build/Release/swapnas.node'); const p=a.cudaProbe(); console.error(JSON.stringify(p)); if(!p.available) process.exit(1)" \
  || { echo "gpu-check: the CUDA engine is not usable (reason above)" >&2; exit 1; }

step "parity tests"
if [ -x node_modules/.bin/vitest ]; then
  timeout 180 node_modules/.bin/vitest run test/cuda.test.ts test/spaces-parity.test.ts >&2 || { echo "gpu-check: CUDA parity tests FAILED" >&2; status=1; }
else
  echo "gpu-check: vitest is not installed, skipping test/cuda.test.ts (the benchmark still checks every count)" >&2
fi

step "benchmark"
remaining=$((470 - (SECONDS - start)))
[ "$remaining" -lt 60 ] && remaining=60
table=$(timeout "$remaining" node bench/gpu-bench.mjs) || { echo "gpu-check: benchmark failed, timed out or found count mismatches" >&2; status=1; }

step "done"
echo
echo "$table"
exit "$status"
