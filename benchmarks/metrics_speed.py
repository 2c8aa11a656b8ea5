"""Time every metric on synthetic maps (by default 1,000 maps of 400×300).

For each image it evaluates all fixation metrics (AUC-Judd with jitter, shuffled AUC
with 100 splits against an other-fixations map from 10 other images, NSS, CC, SIM) and
all salient-object metrics (PR/F curves, adaptive F, MAE, S, E curves, adaptive E,
weighted F), through the dataset evaluators, and prints one JSON line.

The synthetic data are smooth random maps (upsampled noise), ~60 fixations per image
drawn from the map, and masks thresholded from a related map. Building them, the
density maps (§A.6, given to the evaluator as a dataset would ship them) and the O maps
is timed separately from the metrics.

Usage:
    python benchmarks/metrics_speed.py [--n-images 1000] [--height 300] [--width 400]
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asnet_keras.metrics import (  # noqa: E402
    FixationEvaluator,
    SalientObjectEvaluator,
    fixation_density,
    other_fixations_map,
)


def smooth_map(rng, h, w):
    """A smooth random map in [0, 1]: 6×8 noise upsampled bicubically."""
    small = rng.random((6, 8)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    return (big - big.min()) / (big.max() - big.min())


def make_dataset(n, h, w, seed):
    """Per-image uint8 predictions, fixation tables and masks."""
    rng = np.random.default_rng(seed)
    preds, masks, ys, xs, idx = [], [], [], [], []
    for i in range(n):
        truth = smooth_map(rng, h, w)
        noisy = np.clip(0.7 * truth + 0.3 * smooth_map(rng, h, w), 0, 1)
        preds.append(np.rint(255 * noisy).astype(np.uint8))
        masks.append(((truth > 0.6) * 255).astype(np.uint8))
        prob = truth.ravel() ** 4
        flat = rng.choice(h * w, size=60, p=prob / prob.sum())
        ys.append(flat // w)
        xs.append(flat % w)
        idx.append(np.full(60, i))
    table = (np.concatenate(idx), np.concatenate(ys), np.concatenate(xs), np.tile([h, w], (n, 1)))
    return preds, masks, table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=1000)
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, h, w = args.n_images, args.height, args.width

    t0 = time.perf_counter()
    preds, masks, (image_index, ys, xs, shapes) = make_dataset(n, h, w, args.seed)
    fixpts, densities, others = [], [], []
    for i in range(n):
        f = np.zeros((h, w), np.uint8)
        f[ys[image_index == i], xs[image_index == i]] = 255
        fixpts.append(f)
        d = fixation_density(f)
        densities.append(np.rint(255 * d / d.max()).astype(np.uint8))  # stored as a PNG would be
        others.append(other_fixations_map(i, image_index, ys, xs, shapes, seed=(args.seed, i)))
    t_data = time.perf_counter() - t0

    fp = FixationEvaluator(seed=args.seed)
    t0 = time.perf_counter()
    for i in range(n):
        fp.step(preds[i], fixpts[i], density=densities[i], other_fixations=others[i])
    fp_results = fp.get_results()
    t_fp = time.perf_counter() - t0

    sod = SalientObjectEvaluator()  # constructed outside the timing: imports PySODMetrics
    t0 = time.perf_counter()
    for i in range(n):
        sod.step(preds[i], masks[i])
    sod_results = sod.get_results()
    t_sod = time.perf_counter() - t0

    total = t_fp + t_sod
    print(
        json.dumps(
            {
                "benchmark": "metrics_speed",
                "n_images": n,
                "shape_hw": [h, w],
                "seconds_total": round(total, 3),
                "seconds_per_image": round(total / n, 5),
                "fixation_seconds": round(t_fp, 3),
                "salient_object_seconds": round(t_sod, 3),
                "data_and_gt_seconds": round(t_data, 3),
                "check": {
                    "auc_judd": round(fp_results["auc_judd"], 4),
                    "sauc": round(fp_results["sauc"], 4),
                    "nss": round(fp_results["nss"], 4),
                    "maxF": round(sod_results["maxF"], 4),
                    "MAE": round(sod_results["MAE"], 4),
                },
                "python": platform.python_version(),
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
