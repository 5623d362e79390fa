#!/usr/bin/env bash
# A 7B-class analysis in miniature, for CI: two layers of LLaMA-3-8B shapes (q, o 4096x4096 in paper mode; k, v
# 1024x4096 by least squares, grouped-query attention) written by `convsim synth`, analysed under -Xmx1g, and checked:
# every layer present, one 4096x4096 layer per group (the heap decides), the heap never above -Xmx.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
./convsim synth --shape llama-3-8b --layers 2 --seed "${1:-3}" --out "$work/model" -q
CONVSIM_JAVA_OPTS=-Xmx1g ./convsim analyze --adapter "$work/model/adapter" --base "$work/model/base" \
  --out "$work/report" --draws 8 -q
python3 - "$work/report" <<'PY'
import csv, json, sys
report = sys.argv[1]
rows = list(csv.DictReader(open(report + "/diagnostics.csv")))
res = json.load(open(report + "/summary.json"))["provenance"]["resources"]
modes = {(r["module"], r["mode"], r["rows"], r["cols"]) for r in rows}
expected = {("q_proj", "paper", "4096", "4096"), ("o_proj", "paper", "4096", "4096"),
            ("k_proj", "lstsq", "1024", "4096"), ("v_proj", "lstsq", "1024", "4096")}
assert len(rows) == 8, f"{len(rows)} diagnostics rows, expected 8"
assert modes == expected, modes
assert res["modules"]["q_proj"]["layers_per_group"] == 1, res["modules"]["q_proj"]
assert res["peak_heap_bytes"] <= res["max_heap_bytes"], res
assert all(float(r["residual_B"]) < 1e-9 for r in rows), "C_B must solve W0 C_B = B"
print(f"streaming smoke: 8 layers of LLaMA-3-8B shapes under -Xmx1g, peak heap {res['peak_heap_bytes'] / 2**30:.2f} GiB,"
      f" peak RSS {res['peak_rss_bytes'] / 2**30:.2f} GiB: ok")
PY
