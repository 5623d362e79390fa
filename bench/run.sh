#!/usr/bin/env bash
# Benchmarks, each against a baseline measured in the same run on the same machine.
#   1. solve-phase throughput as a fraction of DGEMM throughput (demo's 24 W0 and 4096x4096 systems)
#   2. end-to-end demo analysis wall time, JVM start included (repeated; the best and the median are printed),
#      against bench/authors_baseline.py, a NumPy re-implementation of the authors' algorithm (run once)
# Usage: bench/run.sh [repetitions of the end-to-end run, default 5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
reps="${1:-5}"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "# java: $(java -version 2>&1 | head -1)"
./convsim --version >/dev/null 2>&1   # builds on first use, outside the timings
echo "## solve phase against DGEMM"
./convsim bench --n 4096 --count 4 --rank 16 --reps 3
echo "## demo analysis end to end (./convsim analyze, JVM start included)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
times=()
for ((k = 0; k < reps; k++)); do
  s=$(date +%s.%N)
  ./convsim analyze --out "$out/r" --force -q
  e=$(date +%s.%N)
  times+=("$(echo "$e - $s" | bc -l)")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "convsim: runs %d, best %.2f s, median %.2f s\n", NR, a[1], a[int((NR+1)/2)]}'
echo "## the authors' algorithm (NumPy re-implementation, bench/authors_baseline.py), same inputs"
baseline=$(python3 bench/authors_baseline.py data/adapters/bert-base-uncased-imdb-lora-r8 \
  data/bert-base-uncased.query-value.safetensors)
echo "$baseline"
seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$baseline")
echo "speed-up of convsim over the authors' algorithm (median run): $(echo "$seconds / $median" | bc -l | xargs printf '%.1f')x"
