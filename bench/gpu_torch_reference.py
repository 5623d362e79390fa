#!/usr/bin/env python3
"""Reference timing on the same GPU: torch.linalg.solve on a batch of the GPU check's shape (count n x n systems,
r right-hand sides), fp64 and fp32, data already on the device. Prints JSON. Usage: gpu_torch_reference.py REFERENCE_JSON"""
import json
import sys
import time

import torch


def main(reference):
    with open(reference) as f:
        syn = json.load(f)["synthetic"]
    count, n, r = syn["count"], syn["n"], syn["r"]
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "systems": f"{count} x {n}x{n}, {r} rhs"}
    g = torch.Generator(device="cuda").manual_seed(0)
    for name, dtype in (("fp64", torch.float64), ("fp32", torch.float32)):
        chunk = 32  # the CUDA backend's chunk of the same batch
        a = torch.randn(chunk, n, n, dtype=dtype, device="cuda", generator=g)
        b = torch.randn(chunk, n, r, dtype=dtype, device="cuda", generator=g)
        torch.linalg.solve(a[:1], b[:1])  # warm-up: kernels and workspace
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(count // chunk):
            torch.linalg.solve(a, b)
        torch.cuda.synchronize()
        out[name] = {"seconds": time.perf_counter() - t}
        del a, b
        torch.cuda.empty_cache()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
