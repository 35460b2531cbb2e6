#!/usr/bin/python3
"""Turns simdgrad_bench JSON output into ratio tables (Markdown) and a bar chart.

Benchmark names are <family>/<case>/<impl>/<args...>, impl one of simdgrad, onednn, openblas,
blis, eigen, naive. Rows are grouped by the name with the <impl> component removed; each row shows
simdgrad's time, its rates, and for every peer the ratio  peer time / simdgrad time  (> 1 means
simdgrad is faster). Rows with no simdgrad entry (stream/copy/naive/..., the bandwidth
references) are listed in a table of their own.

Input: one or more Google Benchmark JSON files (--benchmark_out=F --benchmark_out_format=json).
With --benchmark_repetitions the median aggregate is used (with or without
--benchmark_report_aggregates_only); without repetitions, the median of the iteration rows.
Files are grouped by their context (CPU, simdgrad ISA, oneDNN ISA cap, threads): one table per
context. Several files with the same context are merged per benchmark name (--merge).

Times are wall-clock (real_time) by default; --time cpu uses the main thread's CPU time. Google
Benchmark divides rate counters (bytes_per_second, items_per_second, *_per_second, GFLOPS) by the
CPU time unless a benchmark uses UseRealTime(); with --time real they are rescaled to the
wall-clock time (rate * cpu_time / real_time) so that rates and times agree.

--bandwidth adds, for rows with bytes_per_second, the fraction of the bandwidth that the stream
reference of the same run and size reaches (stream/copy for kernels moving <= 8 bytes per item,
i.e. one read and one write of fp32, stream/triad above that; --ref forces one).

Examples:
  tools/bench_report.py out/bench.json
  tools/bench_report.py out/*.json --family activation_fwd --bandwidth --png out/fwd.png
  tools/bench_report.py a.json b.json --markdown docs/table.md
"""

import argparse
import json
import math
import re
import statistics
import sys
from collections import OrderedDict

IMPLS = ["simdgrad", "onednn", "openblas", "blis", "eigen", "naive"]
GB_SUFFIXES = re.compile(
    r"^(real_time|manual_time|process_time|threads:\d+|min_time:[^/]*|min_warmup_time:[^/]*"
    r"|repeats:\d+|iterations:\d+)$")
TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
CONTEXT_KEYS = ["cpu_brand", "simdgrad_isa", "onednn_max_cpu_isa", "threads"]


def is_rate(counter):
    return counter.endswith("_per_second") or counter.lower() in ("gflops", "flops", "gbps")


# ------------------------------------------------------------------------------ loading
class Entry:
    """One benchmark's measurement: times in ns and counters, already reduced to one value."""

    def __init__(self, real_ns, cpu_ns, counters, real_time_rates, order=(0, 0)):
        self.real_ns = real_ns
        self.cpu_ns = cpu_ns
        self.counters = counters
        self.real_time_rates = real_time_rates  # rates are already per wall-clock second
        self.order = order  # (family_index, per_family_instance_index): registration order

    def time(self, mode):
        return self.real_ns if mode == "real" else self.cpu_ns

    def rate(self, name, mode):
        v = self.counters.get(name)
        if v is None or not is_rate(name):
            return v
        if mode == "real" and not self.real_time_rates and self.real_ns > 0:
            return v * self.cpu_ns / self.real_ns
        if mode == "cpu" and self.real_time_rates and self.cpu_ns > 0:
            return v * self.real_ns / self.cpu_ns
        return v


def split_name(name):
    """(key, family, impl, args) for <family>/<case>/<impl>/<args>; impl '' when there is none."""
    parts = [p for p in name.split("/") if not GB_SUFFIXES.match(p)]
    idx = next((i for i, p in enumerate(parts) if i >= 1 and p in IMPLS), None)
    if idx is None:
        return "/".join(parts), parts[0], "", ""
    impl = parts[idx]
    rest = parts[:idx] + parts[idx + 1:]
    args = "/".join(parts[idx + 1:])
    return "/".join(rest), parts[0], impl, args


def entry_from(row, real_time_rates, file_index=0):
    scale = TIME_SCALE.get(row.get("time_unit", "ns"), 1.0)
    skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
            "iterations", "real_time", "cpu_time", "time_unit", "family_index",
            "per_family_instance_index", "aggregate_name", "aggregate_unit", "error_occurred",
            "error_message", "big_o", "rms", "label"}
    counters = {k: float(v) for k, v in row.items()
                if k not in skip and isinstance(v, (int, float)) and not isinstance(v, bool)}
    # family_index counts the families the filter matched: comparable within one file only.
    order = (file_index, int(row.get("family_index", 0)),
             int(row.get("per_family_instance_index", 0)))
    return Entry(float(row["real_time"]) * scale, float(row["cpu_time"]) * scale, counters,
                 real_time_rates, order)


def median_entry(entries):
    if len(entries) == 1:
        return entries[0]
    names = set.intersection(*(set(e.counters) for e in entries))
    return Entry(statistics.median(e.real_ns for e in entries),
                 statistics.median(e.cpu_ns for e in entries),
                 {k: statistics.median(e.counters[k] for e in entries) for k in names},
                 entries[0].real_time_rates, min(e.order for e in entries))


def load(path, file_index=0):
    """(context dict, {run_name: Entry}) for one JSON file."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    medians, iterations = {}, {}
    for row in doc.get("benchmarks", []):
        if row.get("error_occurred"):
            continue
        run_name = row.get("run_name", row["name"])
        real_rates = "/real_time" in run_name or "/manual_time" in run_name
        if row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                medians[run_name] = entry_from(row, real_rates, file_index)
        else:
            iterations.setdefault(run_name, []).append(entry_from(row, real_rates, file_index))
    result = OrderedDict()
    for name in list(iterations) + [n for n in medians if n not in iterations]:
        result[name] = medians.get(name) or median_entry(iterations[name])
    return doc.get("context", {}), result


def context_key(ctx):
    return tuple(str(ctx.get(k, "")) for k in CONTEXT_KEYS)


def merge(entries, how):
    if how == "last":
        return entries[-1]
    if how == "min":
        return min(entries, key=lambda e: e.real_ns)
    return median_entry(entries)


# ------------------------------------------------------------------------------ tables
def fmt_time(ns):
    if ns is None:
        return "-"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_num(v, digits=3):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}×"


def describe(ctx, time_mode):
    parts = [f"CPU: {ctx.get('cpu_brand', '?')}",
             f"simdgrad ISA: {ctx.get('simdgrad_isa', '?')}"]
    if ctx.get("onednn_max_cpu_isa"):
        parts.append(f"ONEDNN_MAX_CPU_ISA: {ctx['onednn_max_cpu_isa']}")
    parts.append(f"threads: {ctx.get('threads', '?')}")
    if ctx.get("omp_proc_bind"):
        parts.append(f"OMP_PROC_BIND: {ctx['omp_proc_bind']}")
    if ctx.get("num_cpus"):
        parts.append(f"{ctx['num_cpus']} CPUs @ {ctx.get('mhz_per_cpu', '?')} MHz")
    if ctx.get("date"):
        parts.append(f"date: {ctx['date']}")
    parts.append(f"times: {'wall-clock' if time_mode == 'real' else 'CPU'} medians")
    return " · ".join(parts)


def markdown_table(header, rows, align):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


class Group:
    """The merged measurements of one context."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.raw = OrderedDict()  # run name -> [Entry] (one per file)

    def add(self, name, entry):
        self.raw.setdefault(name, []).append(entry)

    def rows(self, how, family):
        """OrderedDict key -> {impl: Entry} in registration order (the order of the benchmark
        executable, also with --benchmark_enable_random_interleaving), and key -> (family, args).
        """
        rows, meta = {}, {}
        for name, entries in self.raw.items():
            key, fam, impl, args = split_name(name)
            if family and not any(name.startswith(f) for f in family):
                continue
            rows.setdefault(key, {})[impl] = merge(entries, how)
            meta[key] = (fam, args)
        ordered = sorted(rows, key=lambda k: min(e.order for e in rows[k].values()))
        return OrderedDict((k, rows[k]) for k in ordered), meta


def stream_reference(rows, meta, kind, args, mode):
    """The stream/<kind> bytes_per_second with these args, or None."""
    for key, impls in rows.items():
        fam, a = meta[key]
        if fam == "stream" and key.startswith(f"stream/{kind}/") and a == args:
            e = next(iter(impls.values()))
            return e.rate("bytes_per_second", mode)
    return None


def build_tables(group, args):
    rows, meta = group.rows(args.merge, args.family)
    # The stream references are needed by --bandwidth even when --family filters them out.
    all_rows, all_meta = group.rows(args.merge, None)
    mode = args.time
    compared = [k for k, v in rows.items() if "simdgrad" in v]
    peers = [p for p in IMPLS if p != "simdgrad" and any(p in rows[k] for k in compared)]
    rate_cols = [(c, label, scale) for c, label, scale in
                 (("bytes_per_second", "GB/s", 1e-9), ("items_per_second", "Gitem/s", 1e-9),
                  ("GFLOPS", "GFLOPS", 1.0))
                 if any(c in rows[k]["simdgrad"].counters for k in compared)]

    out = []
    ratios = OrderedDict()  # key -> {peer: ratio}
    below = OrderedDict((p, []) for p in peers)
    if compared:
        header = ["benchmark", "simdgrad"] + [f"simdgrad {label}" for _, label, _ in rate_cols]
        header += [f"{p} / simdgrad" for p in peers]
        body = []
        for k in compared:
            s = rows[k]["simdgrad"]
            st = s.time(mode)
            r = [k, fmt_time(st)]
            for c, _, scale in rate_cols:
                v = s.rate(c, mode)
                r.append(fmt_num(v * scale) if v is not None else "-")
            ratios[k] = {}
            for p in peers:
                e = rows[k].get(p)
                ratio = e.time(mode) / st if e is not None and st > 0 else None
                ratios[k][p] = ratio
                r.append(fmt_ratio(ratio))
                if ratio is not None and ratio < 1.0:
                    below[p].append((k, ratio))
            body.append(r)
        out.append(markdown_table(header, body, ["l"] + ["r"] * (len(header) - 1)))

    if args.bandwidth:
        header = ["benchmark", "reference", "reference GB/s"]
        impls_bw = ["simdgrad"] + peers
        header += [f"{p} GB/s" for p in impls_bw] + [f"{p} % of ref" for p in impls_bw]
        body = []
        for k in compared:
            s = rows[k]["simdgrad"]
            if "bytes_per_second" not in s.counters:
                continue
            kind = args.ref
            if kind == "auto":
                items = s.counters.get("items_per_second")
                per_item = s.counters["bytes_per_second"] / items if items else 8.0
                kind = "copy" if per_item <= 8.0 + 1e-9 else "triad"
            ref = stream_reference(all_rows, all_meta, kind, meta[k][1], mode)
            r = [k, f"stream/{kind}", fmt_num(ref * 1e-9) if ref else "-"]
            bws = []
            for p in impls_bw:
                e = rows[k].get(p)
                bws.append(e.rate("bytes_per_second", mode) if e is not None else None)
            r += [fmt_num(b * 1e-9) if b else "-" for b in bws]
            r += [f"{100.0 * b / ref:.0f}%" if b and ref else "-" for b in bws]
            body.append(r)
        if body:
            out.append(markdown_table(header, body, ["l", "l"] + ["r"] * (len(header) - 2)))

    refs = [k for k, v in rows.items() if "simdgrad" not in v]
    if refs and not args.no_references:
        header = ["reference", "time", "GB/s", "Gitem/s"]
        body = []
        for k in refs:
            for impl, e in rows[k].items():
                name = k if not impl else f"{k} ({impl})"
                b, i = e.rate("bytes_per_second", mode), e.rate("items_per_second", mode)
                body.append([name, fmt_time(e.time(mode)), fmt_num(b * 1e-9) if b else "-",
                             fmt_num(i * 1e-9) if i else "-"])
        out.append(markdown_table(header, body, ["l", "r", "r", "r"]))

    lines = []
    for p, items in below.items():
        if p in args.below:
            if items:
                lines.append(f"Below 1.0× against {p} ({len(items)} of {len(compared)}): " +
                             ", ".join(f"{k} {r:.3f}×" for k, r in items))
            elif compared:
                lines.append(f"Below 1.0× against {p}: none ({len(compared)} rows)")
    if lines:
        out.append("\n\n".join(lines))
    return out, ratios, peers, meta


# ------------------------------------------------------------------------------ chart
def plot(panels, path):
    """panels: [(title, ratios {key: {peer: ratio}}, peers)]; one subplot per family."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    subplots = []
    for title, ratios, peers, meta in panels:
        by_family = OrderedDict()
        for k, v in ratios.items():
            by_family.setdefault(meta[k][0], OrderedDict())[k] = v
        for fam, rs in by_family.items():
            subplots.append((f"{fam} — {title}", rs, peers))
    if not subplots:
        print("bench_report: nothing to plot", file=sys.stderr)
        return
    widest = max(len(rs) for _, rs, _ in subplots)
    fig, axes = plt.subplots(len(subplots), 1, squeeze=False,
                             figsize=(max(8.0, 0.28 * widest + 2), 4.2 * len(subplots)))
    colors = {"onednn": "#1f77b4", "openblas": "#2ca02c", "blis": "#9467bd", "eigen": "#8c564b",
              "naive": "#ff7f0e"}
    for ax, (title, rs, peers) in zip(axes[:, 0], subplots):
        keys = list(rs)
        width = 0.8 / max(1, len(peers))
        for j, p in enumerate(peers):
            xs = [i + (j - (len(peers) - 1) / 2) * width for i in range(len(keys))]
            ys = [rs[k].get(p) for k in keys]
            # Bars start at 1.0, so a peer faster than simdgrad points down.
            ax.bar([x for x, y in zip(xs, ys) if y], [y - 1.0 for y in ys if y], width,
                   bottom=1.0, label=f"{p} / simdgrad", color=colors.get(p))
        values = [v for r in rs.values() for v in r.values() if v]
        lo = min([0.8] + [v / 1.15 for v in values])
        hi = max([1.25] + [v * 1.15 for v in values])
        ax.set_ylim(lo, hi)
        ax.set_yscale("log")
        ticks = [2.0 ** e for e in range(math.floor(math.log2(lo)), math.ceil(math.log2(hi)) + 1)]
        ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.axhline(1.0, color="black", linewidth=1.0)
        ax.set_xticks(range(len(keys)))
        prefix = title.split(" — ")[0] + "/"
        ax.set_xticklabels([k[len(prefix):] if k.startswith(prefix) else k for k in keys],
                           rotation=90, fontsize=7)
        ax.set_xlim(-0.6, len(keys) - 0.4)
        ax.set_ylabel("peer time / simdgrad time")
        ax.set_title(title + "  (above 1×: simdgrad faster)", fontsize=9)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("json", nargs="+", help="Google Benchmark JSON files")
    ap.add_argument("--family", action="append", default=[],
                    help="keep benchmark names starting with this prefix (repeatable)")
    ap.add_argument("--png", help="write a bar chart of the ratios (log scale) to this file")
    ap.add_argument("--markdown", help="also write the tables to this Markdown file")
    ap.add_argument("--time", choices=["real", "cpu"], default="real",
                    help="wall-clock (default) or CPU time")
    ap.add_argument("--merge", choices=["median", "last", "min"], default="median",
                    help="how files with the same context combine (default: median)")
    ap.add_argument("--bandwidth", action="store_true",
                    help="add the fraction of the stream copy/triad bandwidth of the same run")
    ap.add_argument("--ref", choices=["auto", "copy", "triad"], default="auto",
                    help="stream reference for --bandwidth (default: by bytes per item)")
    ap.add_argument("--below", action="append", default=None,
                    help="list rows below 1.0x against this peer (repeatable; default: every "
                         "peer but naive)")
    ap.add_argument("--no-references", action="store_true",
                    help="leave out the table of rows without a simdgrad entry")
    ap.add_argument("--title", default="", help="heading printed above each context's tables")
    args = ap.parse_args(argv)
    if args.below is None:
        args.below = [p for p in IMPLS if p not in ("simdgrad", "naive")]

    groups = OrderedDict()
    for i, path in enumerate(args.json):
        ctx, entries = load(path, i)
        g = groups.setdefault(context_key(ctx), Group(ctx))
        for name, e in entries.items():
            g.add(name, e)

    text, panels = [], []
    for g in groups.values():
        tables, ratios, peers, meta = build_tables(g, args)
        if not tables:
            continue
        head = f"### {args.title}\n\n" if args.title else ""
        text.append(head + describe(g.ctx, args.time) + "\n\n" + "\n\n".join(tables))
        short = (f"{g.ctx.get('simdgrad_isa', '?')}, {g.ctx.get('threads', '?')} thread(s), "
                 f"{g.ctx.get('cpu_brand', '?')}")
        panels.append((short, ratios, peers, meta))
    if not text:
        print("bench_report: no benchmarks matched", file=sys.stderr)
        return 1
    report = "\n\n".join(text) + "\n"
    sys.stdout.write(report)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(report)
    if args.png:
        plot(panels, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
