"""Reading Google Benchmark JSON for the table scripts in tools/: per run, a heading from its
context ("<simdgrad_isa> <threads>T") and each case's median (or its only) result by name."""
import json
import re


def load_medians(path):
    """(heading, {name: benchmark entry}) with names stripped of /real_time, /process_time."""
    with open(path) as f:
        d = json.load(f)
    ctx = d.get("context", {})
    out = {}
    for b in d["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = re.sub(r"/(real_time|process_time)$", "", b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate" or name not in out:
            out[name] = b
    return f"{ctx.get('simdgrad_isa', '?')} {ctx.get('threads', '?')}T", out


def seconds(entry, mode="real"):
    """The entry's real (or cpu) time in seconds."""
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry.get("time_unit", "ns")]
    return entry["cpu_time" if mode == "cpu" else "real_time"] * scale
