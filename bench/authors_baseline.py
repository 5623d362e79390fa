#!/usr/bin/env python3
"""BASELINE, not convsim: a faithful re-implementation of the CondLoRA authors' analysis, for timing comparisons.

Follows the authors' published analysis script (cal_phai / phai / get_linears), re-written here in NumPy because
this machine has no PyTorch; no code was copied. Per module (query, value) and factor (A, B, BA):
  - get_linears: an explicit fp32 inverse of each W0 and C = inv(W0) @ T, with T = A^T, B or B A;
  - phai: one random Gaussian matrix of C's shape per layer and its full SVD (the random baseline heatmap);
    for every layer n1 one more full SVD of C_n1 (computed and unused, as in the original); for every pair
    n1 <= n2 (the upper triangle with the diagonal, mirrored, since i == j) cal_phai: full SVDs
    (full_matrices=True) of both matrices and phi = ||U1[:, :i]^T U2[:, :j]||_F^2 / min(i, j); the random
    baseline's phi from the stored random frames.
Not reproduced: loading the model through transformers and drawing the two heatmaps per factor with seaborn
(neither library is installed here); both only add time to the authors' side.

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
    return np.linalg.norm(u1[:, :i].T @ u2[:, :j]) ** 2 / min(i, j)


def phai(linears, i, j, rng):
    n = len(linears)
    scores = np.ones((n, n))
    random_scores = np.ones((n, n))
    random_frames = []
    for _ in range(n):
        u, _, _ = np.linalg.svd(rng.standard_normal(linears[0].shape).astype(np.float32), full_matrices=True)
        random_frames.append(u)
    for n1 in range(n):
        np.linalg.svd(linears[n1], full_matrices=True)  # the original computes this SVD and never uses it
        for n2 in range(n1 if i == j else 0, n):
            s = cal_phi(linears[n1], linears[n2], i, j)
            rs = np.linalg.norm(random_frames[n1][:, :i].T @ random_frames[n2][:, :j]) ** 2 / min(i, j)
            scores[n1, n2] = s
            random_scores[n1, n2] = rs
            if i == j:
                scores[n2, n1] = s
                random_scores[n2, n1] = rs
    return scores, random_scores


def main(adapter_dir, base_path):
    t0 = time.perf_counter()
    adapter = load_safetensors(adapter_dir + "/adapter_model.safetensors")
    base = load_safetensors(base_path)
    rng = np.random.default_rng(0)
    result = {}
    random_result = {}
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
            phi, random_phi = phai(mats, r, r, rng)
            upper = np.triu_indices(len(mats), 1)
            result[f"{module}.{factor}"] = float(phi[upper].mean())
            random_result[f"{module}.{factor}"] = float(random_phi[upper].mean())
    print(json.dumps({"seconds": time.perf_counter() - t0, "average_similarity": result,
                      "random_baseline": random_result}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
