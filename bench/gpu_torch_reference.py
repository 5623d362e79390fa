#!/usr/bin/env python3
"""Reference timing on the same GPU: torch.linalg.solve on a batch of the GPU check's shape (count n x n systems,
r right-hand sides), fp64 and fp32, data already on the device, with PyTorch's default linear-algebra library and
with cuSOLVER preferred. Writes JSON to OUT_JSON (libraries print warnings on stdout).
Usage: gpu_torch_reference.py REFERENCE_JSON OUT_JSON"""
import json
import sys
import time

import torch


def timed(count, n, r, dtype, chunk, g):
    a = torch.randn(chunk, n, n, dtype=dtype, device="cuda", generator=g)
    b = torch.randn(chunk, n, r, dtype=dtype, device="cuda", generator=g)
    torch.linalg.solve(a[:2], b[:2])  # warm-up: kernels and workspace
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(count // chunk):
        torch.linalg.solve(a, b)
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main(reference, out_path):
    with open(reference) as f:
        syn = json.load(f)["synthetic"]
    count, n, r = syn["count"], syn["n"], syn["r"]
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "systems": f"{count} x {n}x{n}, {r} rhs"}
    g = torch.Generator(device="cuda").manual_seed(0)
    for library in ("default", "cusolver"):
        torch.backends.cuda.preferred_linalg_library(library)
        for name, dtype in (("fp64", torch.float64), ("fp32", torch.float32)):
            out[f"{name}_{library}"] = {"seconds": timed(count, n, r, dtype, 32, g)}
            torch.cuda.empty_cache()
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
