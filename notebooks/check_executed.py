#!/usr/bin/env python3
"""Checks executed notebooks: every code cell ran without error, the figure cells produced image/png outputs and the
table cells HTML tables, no output carries escape codes or a bare display id, each notebook ran in under 30 s, and
the averages notebook 01 prints equal those of `convsim analyze`'s summary.json for the same inputs.
Usage: check_executed.py EXECUTED_DIR SUMMARY_JSON. Prints 'notebooks: N passed, M failed' and exits non-zero on failure."""
import json
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
UUID = re.compile(r"^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$")
FIGURE = re.compile(r"show\((Convsim\.(figure|nullFigure)|ImageIO|BitmapEncoder|CondLoraReport\.figure)")
TABLE = re.compile(r"show\((cs\.moduleTable|Convsim\.(verdicts|diagnostics)|diag\.|t\))")
failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def raw(output):
    """Everything an output shows as text: a stream, or a result's text/plain and text/html."""
    if output["output_type"] == "stream":
        t = output.get("text", "")
        return t if isinstance(t, str) else "".join(t)
    parts = []
    for mime in ("text/plain", "text/html"):
        v = output.get("data", {}).get(mime, "")
        parts.append(v if isinstance(v, str) else "".join(v))
    return "\n".join(parts)


def text(output):
    if output["output_type"] == "stream":
        t = output.get("text", "")
        return ANSI.sub("", t if isinstance(t, str) else "".join(t))
    return ""


def main(executed, summary_path):
    expected_images = {"01-reproduce-the-paper": 6, "02-analyse-your-checkpoint": 1, "03-inside-the-numbers": 1,
                       "04-compare-adapters": 2, "05-condlora": 1}
    printed = {}
    for name, images in expected_images.items():
        nb = json.load(open(os.path.join(executed, name + ".ipynb")))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for c in code:
            src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            check(c.get("execution_count") is not None, f"{name}: cell did not run: {src[:60]!r}")
            for o in c.get("outputs", []):
                check(o["output_type"] != "error", f"{name}: cell raised {o.get('ename')}: {src[:60]!r}")
                check("Exception" not in text(o), f"{name}: an exception was printed: {text(o)[:120]!r}")
            for o in c.get("outputs", []):
                check(not ANSI.search(raw(o)), f"{name}: escape codes in an output: {raw(o)[:60]!r}")
                check(not UUID.match(raw(o)) if raw(o).strip() else True,
                      f"{name}: a display id printed as an output: {raw(o)[:60]!r}")
            if FIGURE.search(src):
                check(any("image/png" in o.get("data", {}) for o in c.get("outputs", [])),
                      f"{name}: figure cell gave no image/png: {src[:60]!r}")
            if TABLE.search(src):
                check(any("<table" in "".join(o.get("data", {}).get("text/html", "")) for o in c.get("outputs", [])),
                      f"{name}: table cell gave no HTML table: {src[:60]!r}")
        pngs = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
        check(pngs >= images, f"{name}: {pngs} images, expected at least {images}")
        if name.startswith("01"):
            for c in code:
                for o in c.get("outputs", []):
                    for m in re.finditer(r"AVERAGE (\S+) (\S+) (\S+) ([0-9.]+)", text(o)):
                        printed[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
    timings = os.path.join(executed, "milliseconds.txt")
    if os.path.exists(timings):
        for line in open(timings):
            nb_name, ms = line.split()
            check(int(ms) < 30000, f"{nb_name}: ran {int(ms) / 1000:.1f} s, more than 30 s (kernel start included)")
    summary = json.load(open(summary_path))
    check(len(printed) == len(summary["heatmaps"]), f"notebook 01 printed {len(printed)} averages, summary.json has"
          f" {len(summary['heatmaps'])}")
    for h in summary["heatmaps"]:
        key = (h["module"], h["factor"], h["side"])
        check(key in printed, f"notebook 01 did not print the average of {key}")
        if key in printed:
            check(abs(printed[key] - h["average_similarity"]) <= 1e-8,
                  f"{key}: notebook {printed[key]} vs summary.json {h['average_similarity']}")
    print(f"notebooks: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
