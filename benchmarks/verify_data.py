"""What the data verification before training costs (docs/data_integrity.md §2).

Times `asnet_keras.data.verification.verify` — quick and full, on 1 and N threads, without the
cache, best of several runs with a warm page cache — and one cached re-run, then
extrapolates per sample to the paper's ~25,000 training images.

Data: `--data ROOT --datasets a,b,c` (a prepared root), or by default the synthetic sets
written to a temporary folder: `--n` training images per set at `--size` px.

Example:
    python benchmarks/verify_data.py                    # default synthetic set (128 px)
    python benchmarks/verify_data.py --n 300 --size 640 --modes quick,full
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAPER_IMAGES = 25_000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="prepared root (default: synthetic, in a temp folder)")
    parser.add_argument("--datasets", default="synthetic-fix,synthetic-sod,synthetic-both")
    parser.add_argument("--n", type=int, default=40, help="synthetic training images per set")
    parser.add_argument("--size", type=int, default=128, help="synthetic image side in px")
    parser.add_argument("--modes", default="quick", help="comma-separated: quick, full")
    parser.add_argument("--repeats", type=int, default=5, help="runs per setting (best kept)")
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}",
                        help="comma-separated thread counts")
    args = parser.parse_args(argv)

    from asnet_keras.data import verification as verify_data

    datasets = args.datasets.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            from data_prep.synthetic import make_synthetic

            root = os.path.join(tmp, "prepared")
            make_synthetic(root, n=args.n, size=args.size)
        os.environ["ASNET_KERAS_CACHE"] = os.path.join(tmp, "cache")
        print(f"data: {root} ({', '.join(datasets)}); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for mode in args.modes.split(","):
            for workers in sorted({int(w) for w in args.workers.split(",")}):
                times = []
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    result = verify_data.verify(root, datasets, mode, workers=workers,
                                                progress=False, use_cache=False)
                    times.append(time.perf_counter() - started)
                per = min(times) / max(result.checked, 1)
                print(f"{mode:5s} {workers:2d} thread(s): {result.checked} samples, "
                      f"{result.files} files, best {min(times):.3f} s, median "
                      f"{sorted(times)[len(times) // 2]:.3f} s = {per * 1000:.3f} ms/sample → "
                      f"{PAPER_IMAGES:,} images ≈ {per * PAPER_IMAGES:.0f} s")
        verify_data.verify(root, datasets, "quick", progress=False)
        started = time.perf_counter()
        result = verify_data.verify(root, datasets, "quick", progress=False)
        took = time.perf_counter() - started
        per = took / max(result.cached, 1)
        print(f"cached re-run: {took:.3f} s for {result.cached} samples = {per * 1000:.3f} "
              f"ms/sample → {PAPER_IMAGES:,} images ≈ {per * PAPER_IMAGES:.1f} s")


if __name__ == "__main__":
    main()
