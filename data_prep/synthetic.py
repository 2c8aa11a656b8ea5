"""A small deterministic synthetic dataset in the prepared layout, for the demo and tests.

Each scene: a cluttered background (smooth colour noise, grain, small muted shapes),
2-4 muted striped distractor ellipses, and one salient object drawn last: a saturated,
checker- or stripe-textured ellipse or polygon whose full shape is the mask (exactly
0/255). Simulated viewers (6 x 5 fixations) look at a uniform pixel of the salient
object with probability 0.7, at a centre-biased Gaussian point (sigma = 0.15 of each
side) with 0.2, and anywhere with 0.1; the density map is the fc = 8 Fourier blur.

Three sources mirror ASNet's training mix, plus a test set with both labels:

=================  ==========================  ===================
dataset            labels                      splits
=================  ==========================  ===================
``synthetic-fix``  fixpts, fixmaps, npz        train (n), val
``synthetic-sod``  masks                       train (n), val
``synthetic-both`` masks + fixation labels     train (n), val, test (n_test)
=================  ==========================  ===================

val has ``max(2, n // 5)`` images per source. Images are ``size`` px on the longer
side, aspect between 4:3 and 3:4, landscape or portrait. Every image has its own
generator seeded by ``(seed, source, split, index)``, so output depends only on those.
"""

from __future__ import annotations

import cv2
import numpy as np

from asnet_keras.names import SYNTHETIC_DATASETS

from .prepared import RawPoints, Sample, write_meta, write_split
from .report import Report

# name: (index, labels, splits), in the order of SYNTHETIC_DATASETS (fix, sod, both)
SOURCES = dict(zip(SYNTHETIC_DATASETS, (
    (0, {"fix"}, ("train", "val")),
    (1, {"mask"}, ("train", "val")),
    (2, {"mask", "fix"}, ("train", "val", "test")),
)))
SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}
VIEWERS, FIX_PER_VIEWER = 6, 5
P_OBJECT, P_CENTRE = 0.7, 0.2  # the rest (0.1) is uniform noise


def _stripes(rng, m, c1, c2):
    """(k, 3) uint8 texture at the k pixels of boolean mask ``m``: stripes or checks."""
    yy, xx = np.nonzero(m)
    yy, xx = yy.astype(np.float32), xx.astype(np.float32)
    period = rng.uniform(4, 10)
    if rng.random() < 0.5:
        a = rng.uniform(0, np.pi)
        t = np.sin((xx * np.cos(a) + yy * np.sin(a)) * (2 * np.pi / period)) > 0
    else:
        t = ((xx // period + yy // period) % 2) == 0
    return np.where(t[..., None], np.array(c1, np.uint8), np.array(c2, np.uint8))


def _shape_mask(rng, h, w, scale):
    """(h, w) uint8 0/255: a random ellipse or polygon of about ``scale`` x min side."""
    m = np.zeros((h, w), np.uint8)
    r = scale * min(h, w)
    cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
    if rng.random() < 0.5:
        axes = (int(r * rng.uniform(0.7, 1.0)), int(r * rng.uniform(0.5, 1.0)))
        cv2.ellipse(m, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    else:  # a star-shaped polygon: sorted angles, radii near r (no slivers)
        k = int(rng.integers(5, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.7, 1.0, k)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(m, [pts], 255)
    return m


def _muted(rng):
    """A low-saturation mid-grey colour."""
    return tuple(int(v) for v in np.clip(rng.uniform(70, 170) + rng.uniform(-25, 25, 3), 0, 255))


def _vivid(rng):
    """A saturated colour: one strong channel, the others dark."""
    c = rng.uniform(0, 60, 3)
    c[rng.integers(3)] = rng.uniform(200, 255)
    return tuple(int(v) for v in c)


def scene(rng: np.random.Generator, size: int):
    """-> (bgr (H, W, 3) uint8, mask (H, W) uint8 {0,255}, x, y float64 0-based)."""
    short = int(round(size * rng.uniform(0.75, 1.0)))
    h, w = (short, size) if rng.random() < 0.5 else (size, short)
    low = rng.uniform(60, 190, (4, 4, 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 12, (h, w, 3)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(6, 12))):  # clutter
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = x0 + int(rng.integers(2, max(3, w // 6)))
        y1 = y0 + int(rng.integers(2, max(3, h // 6)))
        cv2.rectangle(img, (x0, y0), (x1, y1), _muted(rng), -1)
    for _ in range(int(rng.integers(2, 5))):  # distractor objects
        m = _shape_mask(rng, h, w, rng.uniform(0.08, 0.16)) > 0
        img[m] = _stripes(rng, m, _muted(rng), _muted(rng))
    mask = _shape_mask(rng, h, w, rng.uniform(0.2, 0.32))
    obj = mask > 0
    c1 = _vivid(rng)
    c2 = tuple(int(v * 0.55) for v in c1)
    img[obj] = _stripes(rng, obj, c1, c2)
    # fixations: object / centre bias / noise
    n = VIEWERS * FIX_PER_VIEWER
    kind = rng.choice(3, size=n, p=[P_OBJECT, P_CENTRE, 1 - P_OBJECT - P_CENTRE])
    oy, ox = np.nonzero(obj)
    pick = rng.integers(0, len(ox), n)
    x = np.where(kind == 0, ox[pick] + rng.uniform(-0.45, 0.45, n),
                 np.where(kind == 1, rng.normal(w / 2, 0.15 * w, n), rng.uniform(0, w - 1, n)))
    y = np.where(kind == 0, oy[pick] + rng.uniform(-0.45, 0.45, n),
                 np.where(kind == 1, rng.normal(h / 2, 0.15 * h, n), rng.uniform(0, h - 1, n)))
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    return img, mask, x, y


def make_synthetic(dst, n: int = 40, size: int = 128, seed: int = 0, n_test: int | None = None,
                   quiet: bool = True) -> dict:
    """Write ``synthetic-fix``, ``synthetic-sod`` and ``synthetic-both`` under ``dst``.

    Args: ``n`` train images per source; ``size`` longer side (px); ``seed``;
    ``n_test`` test images of ``synthetic-both`` (default ``n``). Returns
    ``{dataset: meta dict}``. Deterministic for given arguments.
    """
    if size < 16:
        raise ValueError(f"--size {size} is too small; use at least 16 px")
    n_test = n if n_test is None else n_test
    counts = {"train": n, "val": max(2, n // 5), "test": n_test}
    metas = {}
    for name, (src_idx, labels, splits) in SOURCES.items():
        report = Report(name, quiet=quiet)
        for split in splits:
            samples = []
            for i in range(counts[split]):
                rng = np.random.default_rng([seed, src_idx, SPLIT_INDEX[split], i])
                img, mask, x, y = scene(rng, size)
                subj = np.repeat(np.arange(VIEWERS), FIX_PER_VIEWER)
                samples.append(Sample(
                    id=f"{split}_{i:05d}", image=img,
                    mask=mask if "mask" in labels else None,
                    points=RawPoints(x, y, subj, base=0) if "fix" in labels else None))
            density = "fc8" if "fix" in labels else None
            write_split(dst, name, split, samples, labels, density, report)
        metas[name] = write_meta(
            dst, name, report,
            {"generator": "data_prep.synthetic", "n": n, "n_test": n_test, "size": size,
             "seed": seed},
            "fc8" if "fix" in labels else None,
            {"viewers": VIEWERS, "fixations_per_viewer": FIX_PER_VIEWER,
             "fixation_mix": {"object": P_OBJECT, "centre": P_CENTRE,
                              "uniform": round(1 - P_OBJECT - P_CENTRE, 6)}})
    return metas
