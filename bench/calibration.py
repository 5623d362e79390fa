"""Helpers of bench/calibration.sh: random adapters of the demo's shapes, and the p-values convsim gave them.

  calibration.py adapters DIR N   writes N adapters DIR/aNN with the demo adapter's config, keys and shapes and every
                                  factor drawn N(0, 1) (seeded by NN): what the W0 null assumes, so their p must be uniform
  calibration.py summarise DIR... reads the summary.json of each report directory (analyze or compare) and prints the
                                  tested maps' p-values against U(0, 1): counts below 0.05 and 0.01, Kolmogorov-Smirnov
"""
import glob
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "adapters",
                    "bert-base-uncased-imdb-lora-r8")


def adapters(out, n):
    raw = open(os.path.join(DEMO, "adapter_model.safetensors"), "rb").read()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    for k in range(n):
        rng = np.random.default_rng(1000 + k)
        d = os.path.join(out, "a%02d" % k)
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(DEMO, "adapter_config.json"), d)
        entries, blobs, offset = {}, [], 0
        for name, info in header.items():
            if name == "__metadata__" or ".lora_" not in name:
                continue
            data = rng.standard_normal(info["shape"]).astype("<f4").tobytes()
            entries[name] = {"dtype": "F32", "shape": info["shape"], "data_offsets": [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
        text = json.dumps(entries).encode()
        text += b" " * (-len(text) % 8)
        with open(os.path.join(d, "adapter_model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tested_p_values(summary):
    """p of every map tested against its W0 null (no controls, duplicates or degenerate maps), or of condlora's tests."""
    found = []

    def walk(o):
        if isinstance(o, dict):
            tested = o.get("status") == "tested" or "beyond_both_nulls" in o
            if tested and isinstance(o.get("p_value"), float):
                found.append(o["p_value"])
            else:
                for v in o.values():
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(summary)
    return found


def kolmogorov_p(d, n):
    """Asymptotic p of the one-sample KS distance d over n values (Kolmogorov's series)."""
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    return max(0.0, min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 101))))


def summarise(dirs):
    p = sorted(v for d in dirs for v in tested_p_values(json.load(open(os.path.join(d, "summary.json")))))
    n = len(p)
    if n == 0:
        sys.exit("calibration.py: no tested map in " + " ".join(dirs))
    d = max(max(abs(v - k / n), abs(v - (k + 1) / n)) for k, v in enumerate(p))
    print("%d reports, %d tested maps: p < 0.05 in %d (%.1f expected), p < 0.01 in %d (%.1f expected); "
          "Kolmogorov-Smirnov against U(0, 1): D = %.3f, p = %.2f"
          % (len(dirs), n, sum(v < 0.05 for v in p), 0.05 * n, sum(v < 0.01 for v in p), 0.01 * n, d,
             kolmogorov_p(d, n)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "adapters":
        adapters(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "summarise":
        summarise(sys.argv[2:])
    else:
        sys.exit(__doc__)
