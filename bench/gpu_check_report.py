#!/usr/bin/env python3
"""Summarises a GPU check run (OUT/cuda.json, OUT/torch.json) as Markdown for BENCHMARKS.md. Usage: gpu_check_report.py OUT"""
import json
import os
import sys

out = sys.argv[1]
cuda = json.load(open(os.path.join(out, "cuda.json")))
torch = json.load(open(os.path.join(out, "torch.json")))
d, s = cuda["demo"], cuda["synthetic"]
print(f"## GPU check on {cuda['device']}\n")
print(f"Backend: {cuda['backend']}; PyTorch {torch['torch']} on {torch['device']}.\n")
print("| check | result | criterion | pass |\n|---|---|---|---|")
ok = d["max_abs_phi_difference_to_cpu"] <= 1e-9
print(f"| demo: phi, CUDA vs CPU (fp64), {d['heatmaps']} heatmaps | {d['max_abs_phi_difference_to_cpu']:.2e} | <= 1e-9 | {'yes' if ok else 'NO'} |")
ok = d["max_relative_cond_difference_to_cpu"] <= 1e-9
print(f"| demo: cond(W0), CUDA vs CPU | {d['max_relative_cond_difference_to_cpu']:.2e} | <= 1e-9 | {'yes' if ok else 'NO'} |")
print(f"| demo: W0-null averages, CUDA vs CPU | {d['max_relative_w0_null_difference_to_cpu']:.2e} | <= 1e-9 | {'yes' if d['max_relative_w0_null_difference_to_cpu'] <= 1e-9 else 'NO'} |")
f64, f32 = s["fp64"], s["fp32"]
ok = f64["max_relative_difference_to_cpu_fp64"] <= 1e-9
print(f"| {s['systems']}: fp64 solutions vs CPU | {f64['max_relative_difference_to_cpu_fp64']:.2e} | <= 1e-9 | {'yes' if ok else 'NO'} |")
print(f"| same, fp32 solutions vs CPU fp64: median, max over systems | {f32['median_relative_difference_to_cpu_fp64']:.2e}, {f32['max_relative_difference_to_cpu_fp64']:.2e} | cond * 6e-8 | printed below |")
for c in f32["conditioning"]:
    print(f"| fp32, system {c['system']} ({c['which']}) | {c['relative_difference']:.2e} | cond {c['cond']:.3g}: cond * 6e-8 = {c['cond'] * 5.96e-8:.2e} | {'yes' if c['relative_difference'] <= 10 * c['cond'] * 5.96e-8 else 'NO'} |")
print()
print("| solve of the batch | convsim CUDA (device) | convsim CUDA (with transfers) | torch.linalg.solve (default) | torch (cuSOLVER preferred) | ratio convsim device / best torch | CPU reference |\n|---|---|---|---|---|---|---|")
for p in ("fp64", "fp32"):
    c = s[p]
    t1, t2 = torch[p + "_default"]["seconds"], torch[p + "_cusolver"]["seconds"]
    cpu = f"{s['cpu_reference_seconds']:.1f} s (fp64, 2 cores)" if p == "fp64" else ""
    print(f"| {p} | {c['device_compute_seconds']:.3f} s | {c['seconds_with_transfers']:.3f} s | {t1:.3f} s | {t2:.3f} s | {c['device_compute_seconds'] / min(t1, t2):.2f} | {cpu} |")
print(f"\nDemo analysis (value module of the bundled demo, as carried): CUDA {d['cuda_seconds']:.2f} s, CPU reference {d['cpu_seconds']:.2f} s (on the machine that prepared the check).")
