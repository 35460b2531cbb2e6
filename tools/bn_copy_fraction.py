#!/usr/bin/env python3
"""Batch normalization against its memory bound: for each simdgrad batchnorm case of a benchmark
run, the time its tensor-sized transfers take at the copy-loop bandwidth of the same run, and the
measured time as a multiple of it.

    tools/bn_copy_fraction.py out/bench-avx512-1t.json [...]

Transfers (docs/batchnorm.md, "Passes over memory"): forward training NCHW 2 (read x, write y;
the channel is re-read from L2), NHWC and NC 3 (x twice, y); forward inference 2; backward NCHW 3
(x, dy, dx), NHWC and NC 5 (x and dy twice, dx). The copy reference is stream/copy/naive/<n'>
(8 bytes per element) at the smallest n' >= the tensor's element count, so that a tensor that
fits in L2 is compared with a copy that fits too. Markdown on stdout.
"""
import sys

from bench_json import load_medians, seconds

TRANSFERS = {
    ("batchnorm_fwd_train", "nchw"): 2, ("batchnorm_fwd_train", "nhwc"): 3,
    ("batchnorm_fwd_train", "nc"): 3,
    ("batchnorm_fwd_infer", "nchw"): 2, ("batchnorm_fwd_infer", "nhwc"): 2,
    ("batchnorm_fwd_infer", "nc"): 2,
    ("batchnorm_bwd", "nchw"): 3, ("batchnorm_bwd", "nhwc"): 5, ("batchnorm_bwd", "nc"): 5,
}


def medians(path):
    head, med = load_medians(path)
    return head, {k: seconds(v) for k, v in med.items()}


def main(argv):
    for path in argv:
        head, med = medians(path)
        copies = sorted((int(k.split("/")[-1]), v) for k, v in med.items()
                        if k.startswith("stream/copy/naive/"))
        print(f"\n{head}\n")
        print("| case | elements | transfers | copy GB/s (n') | bound | simdgrad | simdgrad / bound | oneDNN / bound |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in sorted(med):
            parts = name.split("/")
            if len(parts) < 4 or parts[2] != "simdgrad" or (parts[0], parts[1]) not in TRANSFERS:
                continue
            dims = [int(x) for x in parts[3:]]
            n = 1
            for x in dims:
                n *= x
            ref = next(((c, t) for c, t in copies if c >= n), copies[-1] if copies else None)
            if not ref:
                continue
            bw = 8.0 * ref[0] / ref[1]
            bound = TRANSFERS[(parts[0], parts[1])] * 4.0 * n / bw
            t = med[name]
            od = med.get("/".join([parts[0], parts[1], "onednn"] + parts[3:]))
            print(f"| {parts[0]}/{parts[1]}/{'x'.join(parts[3:])} | {n} | "
                  f"{TRANSFERS[(parts[0], parts[1])]} | {bw / 1e9:.1f} ({ref[0]}) | "
                  f"{bound * 1e6:.0f} us | {t * 1e6:.0f} us | {t / bound:.2f} | "
                  f"{(od / bound) if od else float('nan'):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
