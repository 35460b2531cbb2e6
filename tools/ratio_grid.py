#!/usr/bin/env python3
"""Compact ratio grid over several benchmark runs (one column group per run).

    tools/ratio_grid.py --peer onednn --family activation_fwd --family activation_bwd \
        out/bench-avx512-1t.json out/bench-avx2-1t.json ...

For every case <family>/<case>/<impl>/<args...> that the simdgrad impl and the peer both ran,
the ratio peer time / simdgrad time (medians of the repetitions, wall-clock or --time cpu). Rows
are <family>/<case>; each run is one column whose cell lists the ratios over the args in their
order ("1.21 / 0.98 / ..."), so a row reads across sizes and across ISA / thread settings. The
column heading is taken from the run's context (simdgrad_isa, threads). Markdown on stdout; the
last line counts the ratios below 1.

--peer a,b,c compares with the fastest of those impls on each case (the best peer); --by-peer
prints one table per run instead, with a column per peer.
"""
import argparse
import re
import sys

from bench_json import load_medians, seconds


def natural(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def load(path, mode):
    head, med = load_medians(path)
    return head, {k: seconds(v, mode) for k, v in med.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--peer", required=True,
                    help="impl to compare with (e.g. onednn), or a comma list: the fastest of them")
    ap.add_argument("--by-peer", action="store_true",
                    help="one table per run, a column per peer of the --peer list")
    ap.add_argument("--family", action="append", default=[], help="family prefix (repeatable)")
    ap.add_argument("--time", choices=["real", "cpu"], default="real")
    args = ap.parse_args(argv)

    runs = [load(p, args.time) for p in args.json]
    rows = {}  # (family/case) -> {args: None}
    for _, med in runs:
        for name in med:
            parts = name.split("/")
            if len(parts) < 4 or parts[2] != "simdgrad":
                continue
            fam = parts[0]
            if args.family and not any(fam.startswith(f) for f in args.family):
                continue
            key = "/".join(parts[:2])
            rows.setdefault(key, {})["/".join(parts[3:])] = None

    def famorder(k):
        fam = k.split("/")[0]
        idx = next((i for i, f in enumerate(args.family) if fam == f),
                   next((i for i, f in enumerate(args.family) if fam.startswith(f)), 0))
        return idx

    # cases in the order of the activation enum where they are activations, else by name
    order = ["relu", "leaky_relu", "elu", "selu", "gelu_erf", "gelu_tanh", "sigmoid", "tanh",
             "softplus", "silu", "mish", "hardswish"]
    keys = sorted(rows, key=lambda k: (famorder(k), order.index(k.split("/")[1])
                                       if k.split("/")[1] in order else len(order),
                                       natural(k)))
    peers = args.peer.split(",")

    def ratio(med, fam, case, a, plist):
        s = med.get(f"{fam}/{case}/simdgrad/{a}")
        ts = [med[f"{fam}/{case}/{p}/{a}"] for p in plist if f"{fam}/{case}/{p}/{a}" in med]
        return ts and s and min(ts) / s or None

    if args.by_peer:
        tables = [(h, med, [[p] for p in peers], peers) for h, med in runs]
    else:
        tables = [(None, None, None, None)]
    below = total = 0
    for head, tmed, cols, colnames in tables:
        if head is None:
            colnames = [h for h, _ in runs]
            cols = [(med, peers) for _, med in runs]
        else:
            print(f"\n{head}\n")
            cols = [(tmed, c) for c in cols]
        print("| case | args | " + " | ".join(colnames) + " |")
        print("|---|---|" + "---:|" * len(cols))
        for k in keys:
            fam, case = k.split("/")
            arglist = sorted(rows[k], key=natural)
            cells = []
            for med, plist in cols:
                vals = []
                for a in arglist:
                    r = ratio(med, fam, case, a, plist)
                    if r:
                        total += 1
                        below += r < 1.0
                        vals.append(f"**{r:.2f}**" if r < 1.0 else f"{r:.2f}")
                    else:
                        vals.append("-")
                cells.append(" / ".join(vals))
            if all(set(c.replace(" / ", "")) <= {"-"} for c in cells):
                continue
            print(f"| {k} | {' / '.join(arglist)} | " + " | ".join(cells) + " |")
    print(f"\n{below} of {total} ratios below 1.0 (bold).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
