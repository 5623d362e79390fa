#!/usr/bin/env python3
"""BASELINE, not convsim: a faithful re-implementation of the CondLoRA authors' analysis, for timing comparisons.

What the authors' script does, per module and factor: an explicit fp32 inverse of each W0, the conversion matrix
C = inv(W0) @ T, and for every pair of layers (the whole L x L grid) a full SVD (full_matrices=True) of *both*
matrices, then phi = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j). Written here in NumPy (no PyTorch on this machine)
from the description in the paper and the authors' published cal_phai; no code was copied.

Usage: python3 bench/authors_baseline.py ADAPTER_DIR BASE.safetensors   (prints JSON: seconds and averages)
"""
import json
import struct
import sys
import time

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def cal_phi(m1, m2, i, j):
    u1, _, _ = np.linalg.svd(m1, full_matrices=True)
    u2, _, _ = np.linalg.svd(m2, full_matrices=True)
    f = np.linalg.norm(u1[:, :i].T @ u2[:, :j]) ** 2
    return f / min(i, j)


def main(adapter_dir, base_path):
    t0 = time.perf_counter()
    adapter = load_safetensors(adapter_dir + "/adapter_model.safetensors")
    base = load_safetensors(base_path)
    result = {}
    for module in ("query", "value"):
        layers = sorted({int(k.split(".")[5]) for k in adapter if f".{module}.lora_A" in k})
        conv = {"A": [], "B": [], "dW": []}
        for l in layers:
            prefix = f"base_model.model.bert.encoder.layer.{l}.attention.self.{module}"
            a = adapter[prefix + ".lora_A.weight"].astype(np.float32)
            b = adapter[prefix + ".lora_B.weight"].astype(np.float32)
            w0 = base[f"bert.encoder.layer.{l}.attention.self.{module}.weight"].astype(np.float32)
            inv = np.linalg.inv(w0)
            conv["A"].append(inv @ a.T)
            conv["B"].append(inv @ b)
            conv["dW"].append(inv @ (b @ a))
        r = adapter[f"base_model.model.bert.encoder.layer.{layers[0]}.attention.self.{module}.lora_A.weight"].shape[0]
        for factor, mats in conv.items():
            n = len(mats)
            phi = np.zeros((n, n))
            for x in range(n):
                for y in range(n):
                    phi[x, y] = cal_phi(mats[x], mats[y], r, r)
            result[f"{module}.{factor}"] = float(phi[np.triu_indices(n, 1)].mean())
    print(json.dumps({"seconds": time.perf_counter() - t0, "average_similarity": result}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
