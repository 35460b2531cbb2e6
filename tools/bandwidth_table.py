#!/usr/bin/env python3
"""Bandwidth table over several benchmark runs: for every simdgrad case of the given families,
its counted GB/s and the fraction of a stream reference (stream/triad or stream/copy) at the
same element count (the case's first argument), one column per run.

    tools/bandwidth_table.py --family optimizer --ref triad out/opt/bench-avx512-1t.json \
        out/opt/bench-avx512-2t.json

Cells read "GB/s (fraction of the reference)"; medians of the repetitions, wall-clock. The bytes
are what each case counts it must move (bench/bench_optimizer.cpp); the stream loops count 12
(triad) or 8 (copy) bytes per element, without the write-allocate traffic.
"""
import argparse
import sys

from bench_json import load_medians


def load(path):
    head, med = load_medians(path)
    return head, {k: v["bytes_per_second"] for k, v in med.items() if "bytes_per_second" in v}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--family", action="append", default=[])
    ap.add_argument("--ref", choices=["triad", "copy"], default="triad")
    args = ap.parse_args(argv)
    runs = [load(p) for p in args.json]
    names = []
    for _, r in runs:
        for n in r:
            parts = n.split("/")
            if len(parts) >= 4 and parts[2] == "simdgrad" and (
                    not args.family or any(parts[0] == f for f in args.family)) and n not in names:
                names.append(n)
    order = ["sgd", "sgd_momentum", "adam", "adamw", "adam_amsgrad", "rmsprop",
             "rmsprop_centered", "adagrad", "lamb"]

    def key(n):
        p = n.split("/")
        return (args.family.index(p[0]) if p[0] in args.family else 0,
                order.index(p[1]) if p[1] in order else len(order), p[1],
                [int(x) if x.isdigit() else x for x in p[3:]])

    names.sort(key=key)
    print("| case | " + " | ".join(f"{h} GB/s (of {args.ref})" for h, _ in runs) + " |")
    print("|---|" + "---:|" * len(runs))
    for n in names:
        parts = n.split("/")
        cells = []
        for _, r in runs:
            v = r.get(n)
            ref = r.get(f"stream/{args.ref}/naive/{parts[3]}")
            if v is None:
                cells.append("-")
            elif ref:
                cells.append(f"{v / 1e9:.1f} ({v / ref:.2f})")
            else:
                cells.append(f"{v / 1e9:.1f}")
        print(f"| {parts[0]}/{parts[1]}/{'/'.join(parts[3:])} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
