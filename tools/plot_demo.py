#!/usr/bin/env python3
"""Draws the JSON written by simdgrad-demo: per-layer gradient norms (first recorded step and
last) and the loss curve of every configuration, into one PNG.

    /usr/bin/python3 tools/plot_demo.py out/demo.json out/demo.png
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        demo = json.load(f)
    cfgs = demo["configs"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, c in enumerate(cfgs):
        col = colors[i % len(colors)]
        snaps = c["grad_norms"]
        for ax, snap in ((axes[0], snaps[0]), (axes[1], snaps[-1])):
            ys = [v if (v is not None and v > 0) else math.nan for v in snap["layers"]]
            ax.semilogy(range(1, len(ys) + 1), ys, "o-", ms=3, color=col,
                        label=f'{c["name"]} (step {snap["step"]})')
        loss = [v if v is not None else math.nan for v in c["loss"]]
        axes[2].plot(range(1, len(loss) + 1), loss, color=col, label=c["name"])
        if len(loss) < demo["steps"] and c["loss"]:
            axes[2].plot([len(loss)], [max(x for x in loss[:-1] if not math.isnan(x))
                                       if any(not math.isnan(x) for x in loss[:-1]) else 1.0],
                         "x", color=col, ms=10, mew=2)
    for ax, title in ((axes[0], "gradient norm per layer, first step"),
                      (axes[1], "gradient norm per layer, last recorded step")):
        ax.set_xlabel("layer (1 = input side)")
        ax.set_ylabel("||dW||  (L2)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("training loss (x: diverged to NaN/inf)")
    axes[2].set_title("loss")
    axes[2].grid(True, which="both", alpha=0.3)
    axes[2].legend(fontsize=7)
    fig.suptitle(f'simdgrad-demo: {demo["depth"]} hidden layers x {demo["width"]}, '
                 f'batch {demo["batch"]}, {demo["isa"]}, {demo["threads"]} threads; '
                 f'{demo["data"]}', fontsize=10)
    fig.tight_layout()
    fig.savefig(argv[2], dpi=110)
    print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
