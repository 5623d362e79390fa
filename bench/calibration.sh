#!/usr/bin/env bash
# Are convsim's p-values calibrated on the real BERT weights? Adapters whose factors are all N(0, 1) draws (the demo
# adapter's config, keys and shapes) are what the W0 null assumes, so the p of every map tested against it must be
# uniform: p < 0.05 in about 5 % of the maps, and no "yes" after correction but by chance. Each analysis and each
# comparison draws its W0 null with its own --seed, so the check covers the null's sampling too. condlora fit's p is
# the larger of its two nulls' (Gaussian targets, shuffled layers), so below 0.05 in at most 5 % of its tests.
# Usage: bench/calibration.sh [--n N] [--work DIR]     N analyses (default 20), N comparisons of two of the adapters
#                                                      and N condlora fits
# Needs python3 with NumPy. The maps of one report share an adapter, so the Kolmogorov-Smirnov p is approximate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=20 work="${TMPDIR:-/tmp}/convsim-calibration"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --n) n="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "bench/calibration.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
base=data/bert-base-uncased.query-value.safetensors
rm -rf "$work" && mkdir -p "$work"
python3 bench/calibration.py adapters "$work" $((2 * n))
echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo none); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $n random adapters analysed and fitted, $n pairs compared"
for k in $(seq 0 $((n - 1))); do
  ./convsim analyze "$(printf '%s/a%02d' "$work" "$k")" --base "$base" --seed $((1000 + k)) --out "$work/analyze-$k" -q
  ./convsim compare "$(printf '%s/a%02d' "$work" $((2 * k)))" "$(printf '%s/a%02d' "$work" $((2 * k + 1)))" \
    --base "$base" --seed $((2000 + k)) --out "$work/compare-$k" -q
  ./convsim condlora fit "$(printf '%s/a%02d' "$work" "$k")" --base "$base" --seed $((3000 + k)) \
    --out "$work/condlora-$k" -q
done
echo "analyze: $(python3 bench/calibration.py summarise "$work"/analyze-*)"
echo "compare: $(python3 bench/calibration.py summarise "$work"/compare-*)"
echo "condlora fit: $(python3 bench/calibration.py summarise "$work"/condlora-*)"
yeses=$(grep -lE '"(exceeds_w0_null|beyond_both_nulls)" *: *"yes"' "$work"/*/summary.json 2>/dev/null | wc -l)
echo "reports with a 'yes' after correction: $yeses of $((3 * n)) (at most 5 % of them expected by chance)"
