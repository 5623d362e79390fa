#!/usr/bin/env python3
"""Summarises a GPU check run (OUT/cuda.json, OUT/torch.json, OUT/torch-pipeline.json, OUT/contract.txt) as Markdown
for BENCHMARKS.md; exits 1 when a correctness criterion fails. Usage: gpu_check_report.py OUT"""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


cuda, torch, pipeline = load("cuda.json"), load("torch.json"), load("torch-pipeline.json")
failed = []
if cuda is None:
    print("no cuda.json: the CUDA backend did not run (see cuda-log.txt)")
    sys.exit(1)
print(f"## GPU check on {cuda['device']}\n")
print(f"Backend: {cuda['backend']}" + (f"; PyTorch {torch['torch']}." if torch else ".") + "\n")
print("| check | result | criterion | pass |\n|---|---|---|---|")


def row(what, value, limit, criterion):
    ok = value <= limit
    if not ok:
        failed.append(what)
    print(f"| {what} | {value:.2e} | {criterion} | {'yes' if ok else 'NO'} |")


analyses = [("demo", cuda.get("demo", {}))] + list(cuda.get("models", {}).items())
for name, runs in analyses:
    for config, r in runs.items():
        if config == "files":
            continue
        row(f"{name}, {config}: phi of {r['heatmaps']} maps, CUDA vs CPU (fp64)", r["max_abs_phi_difference_to_cpu"],
            1e-9, "<= 1e-9")
        row(f"{name}, {config}: null means, CUDA vs CPU (relative)", r["max_relative_null_mean_difference_to_cpu"],
            1e-9, "<= 1e-9")
        row(f"{name}, {config}: cond(W0), CUDA vs CPU (relative)", r["max_relative_cond_difference_to_cpu"], 1e-6,
            "<= 1e-6 (Lanczos' stated accuracy)")
fit = cuda.get("condlora")
if fit:
    row("demo: condlora fit, R^2 and dW error, CUDA vs CPU", fit["max_abs_r2_or_dw_error_difference_to_cpu"], 1e-9,
        "<= 1e-9")
    row("demo: condlora fit, W_A and W_B, CUDA vs CPU (relative)", fit["max_relative_map_difference_to_cpu"], 1e-9,
        "<= 1e-9")
s = cuda.get("synthetic")
if s:
    row(f"{s['systems']}: fp64 solutions vs CPU", s["fp64"]["max_relative_difference_to_cpu_fp64"], 1e-9, "<= 1e-9")
    for c in s["fp32"]["conditioning"]:
        bound = 10 * c["cond"] * 5.96e-8
        row(f"same in fp32, system {c['system']} ({c['which']}, cond {c['cond']:.3g})", c["relative_difference"],
            bound, "<= 10 cond eps32")
if pipeline:
    for name, p in pipeline["models"].items():
        row(f"{name}: phi, PyTorch's pipeline vs convsim's lean run ({p['maps_compared']} maps)",
            p["max_abs_phi_difference_to_convsim"], 1e-9, "<= 1e-9")
contract = os.path.join(out, "contract.txt")
if os.path.exists(contract):
    last = open(contract).read().strip().splitlines()[-1]
    print(f"| contract suite and batched-path tests | {last} | every test runs and passes | "
          f"{'yes' if 'passed' in last else 'NO'} |")
    if "passed" not in last:
        failed.append("contract")

print("\n| analysis | convsim CUDA | in backend operations | convsim CPU (2 cores, preparing machine) | files read alone | PyTorch pipeline (2nd run) | convsim / PyTorch |")
print("|---|---|---|---|---|---|---|")
for name, runs in analyses:
    files = runs.get("files") if isinstance(runs, dict) else None
    for config, r in runs.items():
        if config == "files":
            continue
        ops = sum(v["seconds"] for v in (r.get("operations") or {}).values())
        read = f"{files['read_seconds']:.2f} s ({files['bytes'] / 1e9:.1f} GB)" if files else ""
        torch_s = ratio = ""
        if pipeline and config == "lean" and name in pipeline["models"]:
            t = pipeline["models"][name]["seconds"]
            torch_s, ratio = f"{t:.2f} s", f"{r['cuda_seconds'] / t:.2f}"
        print(f"| {name}, {config} | {r['cuda_seconds']:.2f} s | {ops:.2f} s | {r['cpu_seconds']:.2f} s | {read} | {torch_s} | {ratio} |")

for name, runs in analyses:
    r = runs.get("default")
    if not r or not r.get("operations"):
        continue
    print(f"\nWhere {name}'s default analysis spends its backend time (wall, transfers included):\n")
    print("| operation | calls | problems | seconds |\n|---|---|---|---|")
    for op, v in sorted(r["operations"].items(), key=lambda kv: -kv[1]["seconds"])[:12]:
        print(f"| {op} | {v['calls']} | {v['problems']} | {v['seconds']:.3f} |")

st = cuda.get("streams")
if st:
    print("\nThe first synthetic checkpoint again, on backends of 4 and 8 streams (lanes), the JVM warm for both:\n")
    print("| streams | default | lean |\n|---|---|---|")
    for key, runs in st.items():
        if "self_check_failed" in runs:
            failed.append(f"self-check with {key}")
            print(f"| {key.split('_')[0]} | self-check FAILED: {runs['self_check_failed']} | |")
            continue
        print(f"| {key.split('_')[0]} | {runs['default']['seconds']:.2f} s | {runs['lean']['seconds']:.2f} s |")
if s and torch:
    print("\n| solve of the batch | convsim CUDA (transfers included) | torch.linalg.solve (default, data on the GPU) | torch (cuSOLVER) | CPU reference (2 cores, fp64) |")
    print("|---|---|---|---|---|")
    for p in ("fp64", "fp32"):
        t1, t2 = torch[p + "_default"]["seconds"], torch[p + "_cusolver"]["seconds"]
        cpu = f"{s['cpu_reference_seconds']:.1f} s" if p == "fp64" else ""
        print(f"| {p} | {s[p]['seconds_with_transfers']:.3f} s | {t1:.3f} s | {t2:.3f} s | {cpu} |")
if failed:
    print("\nFAILED: " + "; ".join(failed))
sys.exit(1 if failed else 0)
