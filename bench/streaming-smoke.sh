#!/usr/bin/env bash
# A 7B-class analysis in miniature, for CI: two layers of LLaMA-3-8B shapes (q, o 4096x4096 in paper mode; k, v
# 1024x4096 by least squares, grouped-query attention) written by `convsim synth`, analysed under -Xmx1g, and checked:
# every layer present, one 4096x4096 layer per group (the heap decides), the heap never above -Xmx.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A W0 cache of its own, empty: the first analysis fills it (writing the LU factors of each 4096 x 4096 layer behind the
# next one's work) and the second reads them, each under the same heap. Filling it once copied each LU on the heap,
# into a buffer twice its size, and a CI run ran out of the 1 GiB.
export CONVSIM_CACHE_DIR="$work/cache"
./convsim synth --shape llama-3-8b --layers 2 --seed "${1:-3}" --out "$work/model" -q
for run in cold warm; do
  CONVSIM_JAVA_OPTS=-Xmx1g ./convsim analyze --adapter "$work/model/adapter" --base "$work/model/base" \
    --out "$work/report-$run" --draws 8 -q
done
cmp "$work/report-cold/similarity.csv" "$work/report-warm/similarity.csv"
for run in cold warm; do
python3 - "$work/report-$run" "$run" <<'PY'
import csv, json, sys
report, run = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(report + "/diagnostics.csv")))
res = json.load(open(report + "/summary.json"))["provenance"]["resources"]
cache = res["w0_cache"]
assert (cache["hits"] == 0 and cache["written"] > 0) if run == "cold" else (cache["hits"] > 0 and cache["misses"] == 0), \
    (run, cache)
modes = {(r["module"], r["mode"], r["rows"], r["cols"]) for r in rows}
expected = {("q_proj", "paper", "4096", "4096"), ("o_proj", "paper", "4096", "4096"),
            ("k_proj", "lstsq", "1024", "4096"), ("v_proj", "lstsq", "1024", "4096")}
assert len(rows) == 8, f"{len(rows)} diagnostics rows, expected 8"
assert modes == expected, modes
assert res["modules"]["q_proj"]["layers_per_group"] == 1, res["modules"]["q_proj"]
# -Xmx is the bound: the launcher's ParallelGC reports as maxMemory() -Xmx less the largest survivor space it might
# size (a third of the young generation), so occupancy before a collection may pass maxMemory() while within -Xmx
assert res["max_heap_bytes"] <= 2**30 and res["peak_heap_bytes"] <= 2**30, res
assert all(float(r["residual_B"]) < 1e-9 for r in rows), "C_B must solve W0 C_B = B"
print(f"streaming smoke: 8 layers of LLaMA-3-8B shapes under -Xmx1g, W0 cache {run} ({cache['hits']} hits,"
      f" {cache['written']} written), peak heap {res['peak_heap_bytes'] / 2**30:.2f} GiB (live after a full"
      f" collection {res['peak_live_heap_after_full_gc_bytes'] / 2**30:.2f} GiB),"
      f" peak RSS {res['peak_rss_bytes'] / 2**30:.2f} GiB: ok")
PY
done

# condlora fit, condlora export and compare stream the same way: two layers of LLaMA-2-7B shapes (every attention W0
# 4096x4096, as CondLoRA needs), each command under -Xmx1g, the fit's LoRA export compared with the adapter itself.
./convsim synth --shape llama-2-7b --layers 2 --seed "${1:-3}" --out "$work/llama2" -q
small=(env CONVSIM_JAVA_OPTS=-Xmx1g ./convsim)
"${small[@]}" condlora fit "$work/llama2/adapter" --base "$work/llama2/base" --out "$work/fit" --draws 4 -q
"${small[@]}" condlora export "$work/llama2/adapter" --base "$work/llama2/base" --as lora --out "$work/export" >/dev/null
"${small[@]}" compare "$work/llama2/adapter" "$work/export" --base "$work/llama2/base" --out "$work/compare" --draws 4 -q
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
fit = json.load(open(work + "/fit/summary.json"))
cmp = json.load(open(work + "/compare/summary.json"))
assert len(fit["modules"]) == 4, fit["modules"]
for name, s in (("condlora fit", fit), ("compare", cmp)):
    res = s["provenance"]["resources"]
    assert res["max_heap_bytes"] <= 2**30 and res["peak_heap_bytes"] <= 2**30, (name, res)
    print(f"streaming smoke: {name} on 2 layers of LLaMA-2-7B shapes under -Xmx1g, peak heap"
          f" {res['peak_heap_bytes'] / 2**30:.2f} GiB: ok")
assert all(m["layers_per_group"] == 1 for m in cmp["provenance"]["resources"]["modules"].values()), cmp
PY
