#!/usr/bin/env python3
"""BASELINE, not convsim: the authors' outputs computed the way a PyTorch user would on a GPU, from the same files,
for the GPU check's timing and as an independent check of convsim's phi.

For each synthetic checkpoint the check wrote (CUDA_JSON's models), per target module: W0 of every layer and the LoRA
factors read with safetensors straight to the GPU, widened to fp64; C_A and C_B by torch.linalg.solve (square W0,
W0 C_A = A^T and W0 C_B = B, one batched call) or by the thin SVD's least squares (non-square W0: W0^T C_A = A^T,
W0 C_B = B, singular values below max(m, n) eps s_max dropped, as numpy's lstsq); C_dW = C_B A through the QR of C_B;
the left singular vectors of each by torch.linalg.svd (batched); phi(a, b) = ||U_a^T U_b||_F^2 / r for all layer
pairs by one batched product; a Gaussian baseline of 2 draws (its own random numbers, so only its cost compares).
It does less than convsim's lean configuration: no cond(W0), no fp32 re-solve, no residual checks, no figures.

Each model runs twice; the second run is the timing (the first pays for CUDA's and cuSOLVER's start-up).
Usage: gpu_torch_pipeline.py CUDA_JSON OUT_JSON"""
import json
import math
import os
import sys
import time

import torch
from safetensors import safe_open


def base_files(base_dir):
    index = os.path.join(base_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        return {name: os.path.join(base_dir, shard) for name, shard in weight_map.items()}
    single = os.path.join(base_dir, "model.safetensors")
    with safe_open(single, framework="pt") as f:
        return {name: single for name in f.keys()}


def load(files_by_name, names):
    by_file = {}
    for n in names:
        by_file.setdefault(files_by_name[n], []).append(n)
    out = {}
    for path, wanted in by_file.items():
        with safe_open(path, framework="pt", device="cuda") as f:
            for n in wanted:
                out[n] = f.get_tensor(n)
    return out


def left_vectors(c):
    return torch.linalg.svd(c, full_matrices=False)[0]


def phi_grid(u, r):
    g = torch.einsum("anr,bns->abrs", u, u)
    return (g * g).sum(dim=(2, 3)) / r


def lstsq(w0, t, transpose):
    u, s, vh = torch.linalg.svd(w0, full_matrices=False)
    cut = max(w0.shape[-2:]) * torch.finfo(torch.float64).eps * s[..., :1]
    inv = torch.where(s > cut, 1 / s, torch.zeros_like(s))
    if transpose:  # W0^T X = T: X = U diag(1/s) V^T T
        return u @ (inv.unsqueeze(-1) * (vh @ t))
    return vh.transpose(-1, -2) @ (inv.unsqueeze(-1) * (u.transpose(-1, -2) @ t))


def analyse(adapter_dir, base_dir):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    with safe_open(os.path.join(adapter_dir, "adapter_model.safetensors"), framework="pt", device="cuda") as f:
        adapter = {n: f.get_tensor(n) for n in f.keys()}
    files = base_files(base_dir)
    modules = {}
    for key in adapter:
        if key.endswith(".lora_A.weight"):
            path = key[len("base_model.model."):-len(".lora_A.weight")]
            layer = int(path.split(".")[2])
            module = path.split(".")[-1]
            modules.setdefault(module, []).append((layer, path))
    base = load(files, [p + ".weight" for entries in modules.values() for _, p in entries])
    t_read = time.perf_counter() - t0
    phis = {}
    g = torch.Generator(device="cuda").manual_seed(0)
    for module, entries in sorted(modules.items()):
        entries.sort()
        w0 = torch.stack([base[p + ".weight"] for _, p in entries]).double()
        a = torch.stack([adapter["base_model.model." + p + ".lora_A.weight"] for _, p in entries]).double()
        b = torch.stack([adapter["base_model.model." + p + ".lora_B.weight"] for _, p in entries]).double()
        r = a.shape[1]
        if w0.shape[-1] == w0.shape[-2]:
            x = torch.linalg.solve(w0, torch.cat([a.transpose(1, 2), b], dim=2))
            c_a, c_b = x[..., :r], x[..., r:]
        else:
            c_a = lstsq(w0, a.transpose(1, 2), transpose=True)
            c_b = lstsq(w0, b, transpose=False)
        q, rr = torch.linalg.qr(c_b)
        u_dw = q @ left_vectors(rr @ a)
        for factor, u in (("A", left_vectors(c_a)), ("B", left_vectors(c_b)), ("dW", u_dw)):
            phis[f"{module}.{factor}"] = phi_grid(u, r)
            for _ in range(2):
                noise = torch.randn(u.shape, dtype=torch.float64, device="cuda", generator=g)
                phi_grid(left_vectors(noise), r)
    torch.cuda.synchronize()
    total = time.perf_counter() - t0
    return {"seconds": total, "read_seconds": t_read}, {k: v.cpu().tolist() for k, v in phis.items()}


def main(cuda_json, out_json):
    with open(cuda_json) as f:
        cuda = json.load(f)
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "models": {}}
    for name, model in cuda.get("models", {}).items():
        files = model["files"]
        first, _ = analyse(files["adapter"], files["base"])
        timing, phis = analyse(files["adapter"], files["base"])
        # convsim's maps are named <module>.<factor>.left.i<r>-j<r>; compare the same cells (off the diagonal too)
        worst = 0.0
        compared = 0
        convsim = model["lean"]["phi"]
        for key, grid in phis.items():
            stem = next((s for s in convsim if s.startswith(key + ".left.")), None)
            if stem is None:
                continue
            theirs = convsim[stem]
            for i, row in enumerate(grid):
                for j, v in enumerate(row):
                    if theirs[i][j] is not None and not math.isnan(theirs[i][j]):
                        worst = max(worst, abs(v - theirs[i][j]))
            compared += 1
        out["models"][name] = {"first_run_seconds": first["seconds"], **timing, "maps_compared": compared,
                               "max_abs_phi_difference_to_convsim": worst}
        torch.cuda.empty_cache()
    with open(out_json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
