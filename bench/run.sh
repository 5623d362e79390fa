#!/usr/bin/env bash
# convsim's benchmarks, each against a baseline measured in the same invocation on the same machine:
#   1. DGEMM throughput and the solve phase on 4096 x 4096 systems (convsim bench)
#   2. the demo analysis end to end (JVM start included, median of --reps) against bench/authors_baseline.py,
#      a NumPy re-implementation of the CondLoRA authors' algorithm (explicit inverse, full SVDs for every pair),
#      and the arithmetic self-check's cold time in each of those runs beside the run's wall time
#   3. a 7B-shaped analysis: a synthetic LLaMA checkpoint (convsim synth, bf16 shards, r = 16 on q, k, v, o) analysed
#      under -Xmx2g with time per phase, heap watched from outside (jstat) and inside (GC notifications), peak RSS,
#      and the solve phase's throughput as a fraction of the DGEMM throughput of step 1
#   4. JMH microbenchmarks of the hot kernels (phi, thin SVD, batched solve), each beside its baseline
# Usage: bench/run.sh [--reps N] [--shape llama-2-7b|llama-3-8b] [--seed S] [--work DIR] [--heap 2g]
#                     [--skip-demo] [--skip-7b] [--skip-jmh]
# The synthetic checkpoint (13.5 GB for llama-2-7b) is written to --work (default ${TMPDIR:-/tmp}/convsim-bench) and
# reused by later runs with the same shape and seed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
reps=5 shape=llama-2-7b seed=1 work="${TMPDIR:-/tmp}/convsim-bench" heap=2g
skip_demo=0 skip_7b=0 skip_jmh=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --shape) shape="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --heap) heap="$2"; shift 2 ;;
    --skip-demo) skip_demo=1; shift ;;
    --skip-7b) skip_7b=1; shift ;;
    --skip-jmh) skip_jmh=1; shift ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "# java: $(java -version 2>&1 | head -1); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
./convsim --version >/dev/null 2>&1   # builds on first use, outside the timings
# the first analysis after a build also dumps the launcher's class-data archive (seconds, once): outside the timings
./convsim analyze --out "$out/warm-up" --force -q --no-cache

echo "## 1. solve phase against DGEMM (convsim bench, 4096 x 4096, two systems at a time as the 7B run goes)"
./convsim bench --n 4096 --count 2 --rank 16 --reps 3 | tee "$out/bench.txt"
dgemm=$(awk '/^dgemm/ {for (i = 1; i <= NF; i++) if ($i == "GFLOP/s") print $(i - 1)}' "$out/bench.txt" | tail -1)

if [[ $skip_demo == 0 ]]; then
  echo "## 2. demo analysis end to end (./convsim analyze, JVM start included) against the authors' algorithm"
  times=() checks=()
  for ((k = 0; k < reps; k++)); do
    s=$(date +%s.%N)
    ./convsim analyze --out "$out/demo" --force -q --no-cache
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc -l)")
    checks+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["provenance"]["arithmetic"]["self_check"]["milliseconds"])' "$out/demo/summary.json")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "convsim: runs %d, best %.2f s, median %.2f s\n", NR, a[1], a[int((NR+1)/2)]}'
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["provenance"]["timings_seconds"]; print("convsim phases (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))' "$out/demo/summary.json"
  # the arithmetic self-check as users pay it: cold, in each run's fresh JVM, beside that run's wall time
  printf '%s\n' "${checks[@]}" | sort -n | awk -v m="$median" '{a[NR]=$1} END {printf "self-check (cold, per run): best %.0f ms, median %.0f ms, worst %.0f ms = %.1f %% of the median run\n", a[1], a[int((NR+1)/2)], a[NR], 100 * a[int((NR+1)/2)] / 1000 / m}'
  baseline=$(python3 bench/authors_baseline.py data/adapters/bert-base-uncased-imdb-lora-r8 \
    data/bert-base-uncased.query-value.safetensors)
  echo "authors' algorithm (bench/authors_baseline.py, NumPy $(python3 -c 'import numpy; print(numpy.__version__)')): $baseline"
  seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$baseline")
  echo "demo speed-up over the authors' algorithm (median run): $(echo "$seconds / $median" | bc -l | xargs printf '%.1f')x"
  # the authors' outputs only: phi heatmaps of A, B, dW with a Gaussian baseline (2 draws, the fewest allowed; they
  # drew one), no W0 null, no controls, cond(W0) estimated; figures, CSVs and provenance as always
  lean=(--nulls gaussian --draws 2 --controls none --cond estimate)
  times=()
  for ((k = 0; k < reps; k++)); do
    s=$(date +%s.%N)
    ./convsim analyze --out "$out/demo-lean" --force -q --no-cache "${lean[@]}"
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc -l)")
  done
  lean_median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  echo "convsim with the authors' outputs only (${lean[*]}): median ${lean_median} s, speed-up $(echo "$seconds / $lean_median" | bc -l | xargs printf '%.1f')x"
  # the W0 cache: a run that fills an empty cache, then a second adapter of the same rank on the same base (the demo
  # adapter with a planted shared C_A, `convsim plant`), which finds every W0 result there
  second="$out/demo-second-adapter"
  ./convsim plant --out "$second" --force >/dev/null
  # each run starts with the disk quiet (sync, untimed): on an ext4 mounted with `discard`, deleting the last cache and
  # writing back the first run's 162 MiB while the next run computed made the first run 1.52 of a run without cache in
  # one bench; with the sync, 1.30 in the next and 1.07 in 5 alternating runs by hand (2026-12-02, eighth session)
  cold=() warm=()
  for ((k = 0; k < reps; k++)); do
    rm -rf "$out/cache"
    sync
    s=$(date +%s.%N)
    ./convsim analyze --out "$out/demo-cold" --force -q --cache-dir "$out/cache"
    m=$(date +%s.%N)
    sync
    m2=$(date +%s.%N)
    ./convsim analyze "$second" --base data/bert-base-uncased.query-value.safetensors --out "$out/demo-warm" --force -q \
      --cache-dir "$out/cache"
    e=$(date +%s.%N)
    cold+=("$(echo "$m - $s" | bc -l)")
    warm+=("$(echo "$e - $m2" | bc -l)")
  done
  cold_median=$(printf '%s\n' "${cold[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  warm_median=$(printf '%s\n' "${warm[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}')
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["provenance"]["resources"]["w0_cache"]; print("W0 cache: %d entries, %.0f MiB written by the first run" % (c["written"], c["written_bytes"] / 2**20))' "$out/demo-cold/summary.json"
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["provenance"]["resources"]["w0_cache"]; print("W0 cache: %d hits, %d misses for the second adapter" % (c["hits"], c["misses"]))' "$out/demo-warm/summary.json"
  # the default analysis as a user's first run on a base makes it (the W0 cache on and empty): issue 17's "cold cache"
  # may be read as this run as well as the one without cache above, so both speed-ups are printed
  echo "demo with an empty W0 cache: median ${cold_median} s ($(echo "$cold_median / $median" | bc -l | xargs printf '%.2f') of the run without cache), speed-up over the authors' algorithm $(echo "$seconds / $cold_median" | bc -l | xargs printf '%.1f')x"
  # three decimals: issue 17's target is 0.5, and 0.503 must not print as 0.50
  echo "second adapter on the same base, from the cache: median ${warm_median} s = $(echo "$warm_median / $cold_median" | bc -l | xargs printf '%.3f') of the first, $(echo "$warm_median / $median" | bc -l | xargs printf '%.2f') of a run without cache; speed-up over the authors' algorithm $(echo "$seconds / $warm_median" | bc -l | xargs printf '%.1f')x"
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["provenance"]["timings_seconds"]; print("second adapter phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))' "$out/demo-warm/summary.json"
fi

if [[ $skip_7b == 0 ]]; then
  echo "## 3. 7B-shaped analysis: $shape, seed $seed, -Xmx$heap"
  model="$work/$shape-seed$seed"
  if [[ ! -f "$model/adapter/adapter_config.json" ]]; then
    mkdir -p "$work"
    s=$(date +%s.%N)
    ./convsim synth --shape "$shape" --seed "$seed" --out "$model" --force -q
    # the 13.5 GB just written would otherwise go to disk during the timed analysis (measured 346 s against 289 s)
    sync
    echo "synth: $(echo "$(date +%s.%N) - $s" | bc -l | xargs printf '%.1f') s, $(du -sh "$model" | cut -f1)"
  else
    echo "synth: reusing $model"
  fi
  # every default, the W0 cache included, as a user's first analysis of this base runs: an empty cache of its own
  # (capped at 4 GiB, it stores what fits; removed with $out)
  s=$(date +%s.%N)
  CONVSIM_JAVA_OPTS="-Xmx$heap" ./convsim analyze --adapter "$model/adapter" --base "$model/base" \
    --out "$out/7b" --force -q --cache-dir "$out/7b-cache" &
  pid=$!
  # watch the JVM from outside: resident set from /proc, heap occupancy (S0U+S1U+EU+OU) from jstat
  peak_rss=0 peak_jstat=0
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    ((rss > peak_rss)) && peak_rss=$rss
    if command -v jstat >/dev/null; then
      used=$(jstat -gc "$pid" 2>/dev/null | awk 'NR == 2 {printf "%d", $3 + $4 + $6 + $8}' || true)
      [[ -n "$used" ]] && ((used > peak_jstat)) && peak_jstat=$used
    fi
    sleep 0.5
  done
  wait "$pid"
  wall=$(echo "$(date +%s.%N) - $s" | bc -l)
  cp "$out/7b/summary.json" "$work/$shape-seed$seed.summary.json"
  python3 - "$out/7b" "$wall" "$peak_rss" "$peak_jstat" "$dgemm" "$heap" <<'PY'
import csv, json, sys
report, wall, rss_kb, jstat_kb, dgemm, heap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
s = json.load(open(report + "/summary.json"))
p = s["provenance"]
res = p["resources"]
gib = 1024 ** 3
print(f"wall {wall:.1f} s (JVM start included); phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in p["timings_seconds"].items()))
print(f"heap: -Xmx{heap} ({res['max_heap_bytes'] / gib:.2f} GiB usable); peak occupancy {res['peak_heap_bytes'] / gib:.2f} GiB, "
      f"after any collection at most {res['peak_live_heap_after_gc_bytes'] / gib:.2f} GiB, live after a full collection at most "
      f"{res['peak_live_heap_after_full_gc_bytes'] / gib:.2f} GiB (GC notifications); "
      f"peak seen by jstat every 0.5 s {jstat_kb / 1024 ** 2:.2f} GiB")
print(f"resident set: peak {rss_kb / 1024 ** 2:.2f} GiB seen from /proc every 0.5 s, {res['peak_rss_bytes'] / gib:.2f} GiB (VmHWM)")
c = res["w0_cache"]
print(f"W0 cache (empty at the start): {c['written']} entries, {c['written_bytes'] / gib:.2f} GiB written (cap {c['max_bytes'] / gib:.0f} GiB)")
rows = list(csv.DictReader(open(report + "/diagnostics.csv")))
flops, seconds = 0.0, 0.0
for name, m in res["modules"].items():
    if m["mode"] != "paper":
        continue
    layers = [r for r in rows if r["module"] == name]
    r = json.load(open(report + "/summary.json"))  # rank per module from the heatmaps
    rank = next(h["i"] for h in r["heatmaps"] if h["module"] == name)
    for l in layers:
        n = int(l["rows"])
        flops += 2 / 3 * n ** 3 + 2 * n * n * 2 * rank
    seconds += m["seconds"]["factor"] + m["seconds"]["solve"]
    print(f"  {name}: {len(layers)} layers, group {m['layers_per_group']}, W0-null bases {m['w0_null_bases_bytes'] / gib:.2f} GiB"
          f" ({'spilled to disk' if m['w0_null_bases_spilled_to_disk'] else 'on the heap'})")
if seconds > 0:
    g = flops / seconds / 1e9
    print(f"solve phase (LU + C_A, C_B solves of the paper-mode modules): {g:.1f} GFLOP/s = {g / dgemm:.2f} of DGEMM ({dgemm:.1f} GFLOP/s, step 1)")
# issue 17's floor: the LU factorisations alone (2/3 n^3 per paper-mode layer) at the DGEMM rate of step 1
lu = sum(2 / 3 * int(r["rows"]) ** 3 for r in rows if r["mode"] == "paper")
floor = lu / (dgemm * 1e9)
print(f"LU factorisations alone at the DGEMM rate: {floor:.1f} s; the whole analysis took {wall / floor:.1f}x that")
PY
fi

if [[ $skip_jmh == 0 ]]; then
  echo "## 4. JMH microbenchmarks (each kernel beside its baseline, same JVM fork)"
  # incremental: rebuilds what changed; Maven's logger writes colour resets even with -B -q, stripped as the launcher does
  mvn -q -B -Dstyle.color=never -DskipTests package -pl analysis-bench -am 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
  java -jar analysis-bench/target/analysis-bench.jar -f 1 -wi 1 -i 3 -w 2s -r 2s -jvmArgs "-Xss16m -Xmx4g" \
    -rf json -rff "$out/jmh.json" >"$out/jmh.txt" 2>&1 || { tail -30 "$out/jmh.txt"; exit 1; }
  python3 - "$out/jmh.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
score = {}
for r in runs:
    cls, method = r["benchmark"].split(".")[-2:]
    shape = r.get("params", {}).get("shape", "12x768x8")
    score[(cls, shape, method)] = (r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"])
pairs = [("PhiBenchmark", "stackedProduct", "baselinePairwiseProducts"),
         ("AuthorsBaselineBenchmark", "convsimPhi", "baselineAuthorsPhi"),
         ("AuthorsBaselineBenchmark", "convsimProductBases", "baselineFormedProductBases"),
         ("ThinSvdBenchmark", "thinSvd", "baselineFullSvd"),
         ("BatchedSolveBenchmark", "luSolve", "baselineExplicitInverse")]
print(f"{'kernel':<48} {'shape (layers x n x r)':<22} {'ms/op':>10} {'baseline':<28} {'ms/op':>10} {'ratio':>8}")
for cls, fast, base in pairs:
    for (c, shape, m), (v, err) in sorted(score.items()):
        if c == cls and m == fast and (c, shape, base) in score:
            b, berr = score[(c, shape, base)]
            print(f"{cls + '.' + fast:<48} {shape:<22} {v:>10.3f} {base:<28} {b:>10.3f} {b / v:>7.1f}x")
# the solve against DGEMM of the same batch, as throughputs: LU + 2r solves is 2/3 n^3 + 4 r n^2, DGEMM 2 n^3
for (c, shape, m), (v, err) in sorted(score.items()):
    if c == "BatchedSolveBenchmark" and m == "luSolve" and (c, shape, "baselineDgemm") in score:
        count, n, r = (int(x) for x in shape.split("x"))
        g = score[(c, shape, "baselineDgemm")][0]
        solve_rate = count * (2 / 3 * n ** 3 + 4 * r * n * n) / v
        gemm_rate = count * 2 * n ** 3 / g
        print(f"{'BatchedSolveBenchmark.luSolve':<48} {shape:<22} {solve_rate / 1e6:>7.1f} GFLOP/s against DGEMM "
              f"{gemm_rate / 1e6:.1f} GFLOP/s: {solve_rate / gemm_rate:.2f} of DGEMM")
PY
fi
