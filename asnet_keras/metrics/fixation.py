"""Fixation-prediction metrics (docs/metrics.md §A), after the MIT saliency benchmark.

Conventions shared by every function here:

- Maps are 2-D arrays. ``uint8`` maps are read as ``x / 255`` (MATLAB ``im2double``),
  ``bool`` as 0/1, any other dtype as its values in float64. Everything is computed
  in float64.
- ``fixations`` is the binary fixation-location map F (§A.6): a pixel is fixated when its
  value is > 0, and a pixel fixated several times counts once.
- ``density`` is the continuous fixation map G (§A.6), used as given.
- If the prediction's size differs from the ground truth's, the prediction is resized
  to it with :func:`~asnet_keras.metrics.imresize.matlab_imresize` (§A.0). The ground
  truth is never resized.
- An undefined result is ``nan`` (a float), never an exception or a warning: no fixation,
  a constant prediction (checked on the map as given, before any resize, so that resize
  round-off cannot turn a constant map into noise), an empty other-fixations pool.
- Seeds: ``seed`` is anything ``numpy.random.default_rng`` accepts (``None``, an int, a
  sequence of ints, a ``Generator``). ``None`` draws fresh entropy; the dataset evaluator
  passes explicit seeds so that evaluation is reproducible.
"""

import numpy as np

from asnet_keras.metrics.common import nan_summary, to_uint8
from asnet_keras.metrics.imresize import matlab_imresize

JITTER_SCALE = 1e-7  # §A.1 step 3: uniform noise in [0, 1e-7)
SAUC_STEP = 0.1  # §A.2: the MIT threshold step


def as_float_map(array):
    """A 2-D map as float64: uint8 as ``x / 255``, bool as 0/1, else the values."""
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D map, got shape {a.shape}; pass one channel (H×W)")
    if a.dtype == np.uint8:
        return a / 255.0
    return a.astype(np.float64)


def _is_constant(a):
    return bool(a.size == 0 or a.max() == a.min())


def _fixated(fixations):
    """Boolean fixation-location map (value > 0) of a 2-D array, §A.6."""
    f = np.asarray(fixations)
    if f.ndim != 2:
        raise ValueError(f"expected a 2-D fixation map, got shape {f.shape}")
    return f > 0


def _to_shape(saliency, shape):
    """Resize float map ``saliency`` to ``shape`` only if needed (§A.0)."""
    if saliency.shape == tuple(shape):
        return saliency
    return matlab_imresize(saliency, shape)


def _minmax(a):
    """``(a - min) / (max - min)``; the caller has excluded constant maps."""
    lo = a.min()
    return (a - lo) / (a.max() - lo)


def auc_judd(saliency, fixations, jitter=True, seed=None):
    """AUC-Judd (MIT ``AUC_Judd``), docs/metrics.md §A.1.

    ROC thresholds are the (min-max normalised) saliency values at the K fixated pixels,
    sorted in descending order ``t_1 >= ... >= t_K``; for the i-th one, with
    ``A_i = #{pixels with S >= t_i}`` over the whole map, the ROC point is
    ``TP_i = i / K`` and ``FP_i = (A_i - i) / (N - K)``. The points, with (0, 0) prepended
    and (1, 1) appended, are integrated with the trapezoid rule in that order. With tied
    values and ``jitter=False``, ``i`` is the rank, not the count of positives >= t_i
    (MIT's slightly pessimistic tie handling).

    Args:
        saliency: H'×W' prediction (uint8 or float); resized to F's size if it differs.
        fixations: H×W fixation-location map (> 0 = fixated).
        jitter: add uniform noise in [0, 1e-7) to every pixel before normalising, to break
            ties (MIT default). ``False`` gives the exact, deterministic metric.
        seed: seed or ``Generator`` for the jitter.

    Returns:
        float in [0, 1]; ``nan`` if there is no fixation, if every pixel is fixated, or if
        the map is constant and ``jitter`` is off.
    """
    fix = _fixated(fixations)
    s = as_float_map(saliency)
    k = int(np.count_nonzero(fix))
    n = fix.size
    if k == 0 or k == n:
        return float("nan")
    constant = _is_constant(s)
    s = _to_shape(s, fix.shape)
    if jitter:
        s = s + np.random.default_rng(seed).random(s.shape) * JITTER_SCALE
        constant = _is_constant(s)
    if constant:
        return float("nan")
    s = _minmax(s)
    ascending = np.sort(s[fix])  # the thresholds, t_K <= ... <= t_1
    # A_i = #(S >= t_i) for all i at once: a pixel is >= the j-th smallest threshold iff at
    # least j thresholds are <= its value (binary search of each pixel among the K
    # thresholds, O(N log K), instead of sorting the N pixels).
    n_below_or_equal = np.searchsorted(ascending, s.ravel(), side="right")
    at_least = np.cumsum(np.bincount(n_below_or_equal, minlength=k + 1)[::-1])[::-1]
    above = at_least[1:][::-1].astype(np.float64)  # A_i, thresholds in descending order
    rank = np.arange(1, k + 1, dtype=np.float64)
    tp = np.concatenate([[0.0], rank / k, [1.0]])
    fp = np.concatenate([[0.0], (above - rank) / (n - k), [1.0]])
    return float(np.trapezoid(tp, fp))


def shuffled_auc(saliency, fixations, other_fixations, n_splits=100, seed=None):
    """Shuffled AUC (MIT ``AUC_shuffled``), docs/metrics.md §A.2.

    Positives are S at the K fixated pixels; the pool is S at the L pixels where
    ``other_fixations > 0``. Each of ``n_splits`` splits draws ``k = min(K, L)`` pool
    pixels without replacement as negatives and computes a ROC at the thresholds
    ``m * 0.1`` for ``m = floor(max / 0.1 + 1e-10), ..., 1, 0`` (``max`` over positives
    and that split's negatives): ``TP = #(pos >= θ) / K``, ``FP = #(neg >= θ) / k``,
    (0, 0) prepended and (1, 1) appended, trapezoid area. The result is the mean area.

    All splits are computed at once: negatives form an ``(n_splits, k)`` array and the
    thresholds run up to the maximum over positives and the whole pool. For a split
    whose own maximum is lower, the extra thresholds give the point (0, 0), which adds
    no area, so every split's area equals the per-split MIT computation.

    Args:
        saliency: H'×W' prediction (uint8 or float); resized to F's size if it differs.
            No jitter.
        fixations: H×W fixation-location map of this image (> 0 = fixated).
        other_fixations: H×W map O of other images' fixations (> 0 = in the pool), e.g.
            from :func:`other_fixations_map`.
        n_splits: number of random splits (MIT: 100).
        seed: seed or ``Generator`` for drawing the negatives. If ``L <= K`` every split
            uses the whole pool and the result does not depend on it.

    Returns:
        float in [0, 1]; ``nan`` without fixations, with an empty pool, or for a
        constant map.
    """
    fix = _fixated(fixations)
    other = _fixated(other_fixations)
    if other.shape != fix.shape:
        raise ValueError(
            f"other_fixations has shape {other.shape} but fixations has {fix.shape}; "
            "build O in this image's frame (other_fixations_map does)"
        )
    s = as_float_map(saliency)
    n_pos = int(np.count_nonzero(fix))
    n_pool = int(np.count_nonzero(other))
    if n_pos == 0 or n_pool == 0 or _is_constant(s):
        return float("nan")
    s = _minmax(_to_shape(s, fix.shape))
    positives = s[fix]
    pool = s[other]
    k = min(n_pos, n_pool)
    if n_pool <= n_pos:
        negatives = pool[None, :]  # every split uses the whole pool: deterministic
    else:
        # A uniform random permutation per split is the argsort of uniform keys; its first
        # k entries are the k smallest keys, which argpartition finds in O(L). Their order
        # does not matter to the counts.
        keys = np.random.default_rng(seed).random((n_splits, n_pool))
        negatives = pool[np.argpartition(keys, k - 1, axis=1)[:, :k]]  # (n_splits, k)
    top = max(positives.max(), pool.max())
    m = np.arange(int(np.floor(top / SAUC_STEP + 1e-10)), -1, -1)
    thresholds = m * SAUC_STEP  # descending
    tp = (positives[:, None] >= thresholds[None, :]).sum(axis=0) / n_pos  # (T,)
    fp = (negatives[:, :, None] >= thresholds[None, None, :]).sum(axis=1) / k  # (splits, T)
    rows = fp.shape[0]
    tp = np.broadcast_to(np.concatenate([[0.0], tp, [1.0]]), (rows, thresholds.size + 2))
    fp = np.concatenate([np.zeros((rows, 1)), fp, np.ones((rows, 1))], axis=1)
    return float(np.trapezoid(tp, fp, axis=1).mean())


def nss(saliency, fixations):
    """Normalized Scanpath Saliency (MIT ``NSS``), docs/metrics.md §A.3.

    ``Z = (S - mean S) / std(S, ddof=1)`` over the whole map (S resized to F's size);
    NSS is the mean of Z over the fixated pixels, each pixel once.

    Returns:
        float; ``nan`` without fixations or for a constant map.
    """
    fix = _fixated(fixations)
    s = as_float_map(saliency)
    if not fix.any() or _is_constant(s):
        return float("nan")
    s = _to_shape(s, fix.shape)
    if _is_constant(s) or s.size < 2:
        return float("nan")
    z = (s - s.mean()) / s.std(ddof=1)
    return float(z[fix].mean())


def cc(saliency, density):
    """Pearson linear correlation coefficient (MIT ``CC``), docs/metrics.md §A.4.

    ``sum(a * b) / sqrt(sum(a^2) * sum(b^2))`` with ``a = S - mean S``,
    ``b = G - mean G``, S resized to G's size.

    Returns:
        float in [-1, 1]; ``nan`` if either map is constant.
    """
    g = as_float_map(density)
    s = as_float_map(saliency)
    if _is_constant(s) or _is_constant(g):
        return float("nan")
    s = _to_shape(s, g.shape)
    a = s - s.mean()
    b = g - g.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _sim_normalise(x):
    """§A.5: minmax then divide by the sum; an all-zero map stays zero; nan if constant."""
    if not x.any():
        return x
    if _is_constant(x):
        return None
    x = _minmax(x)
    return x / x.sum()


def sim(saliency, density):
    """Similarity / histogram intersection (MIT ``similarity``), docs/metrics.md §A.5.

    S is resized to G's size. Each map that is not all zero is min-max normalised and
    divided by its sum (an all-zero map stays zero); SIM is ``sum(min(S, G))``.

    Returns:
        float in [0, 1]; 0 if either map is all zero (e.g. an image without fixations);
        ``nan`` if either map is constant and non-zero.
    """
    g = as_float_map(density)
    s = as_float_map(saliency)
    s_constant_nonzero = _is_constant(s) and s.any()
    s = _sim_normalise(_to_shape(s, g.shape))
    g = _sim_normalise(g)
    if s_constant_nonzero or s is None or g is None:
        return float("nan")
    return float(np.minimum(s, g).sum())


def fixation_density(fixpts, fc=8.0):
    """Continuous fixation map G from a binary fixation map, MIT style, docs/metrics.md §A.6.

    The binary map is zero-padded to an n×n grid (n = the next power of two >= max(H, W)),
    multiplied in the Fourier domain by ``exp(-(fx^2 + fy^2) / s^2)`` with
    ``s = fc / sqrt(ln 2)`` and frequencies in cycles per n (circular filtering on that
    grid), transformed back and cropped to H×W. For fc = 8 this is a spatial Gaussian of
    σ = n·sqrt(ln 2) / (fc·π·sqrt 2) ≈ 0.0234·n pixels.

    Args:
        fixpts: H×W fixation-location map (> 0 = fixated; each pixel counts once).
        fc: cut-off frequency in cycles per image (MIT: 8).

    Returns:
        H×W float64 map, not normalised (its scale does not matter to CC or SIM; divide by
        its max to store it as an image). Values within ~1e-16 of 0 may be slightly
        negative (FFT round-off).
    """
    fix = _fixated(fixpts).astype(np.float64)
    h, w = fix.shape
    n = 1 << int(np.ceil(np.log2(max(h, w, 1))))
    s2 = (fc / np.sqrt(np.log(2.0))) ** 2
    fy = np.fft.fftfreq(n) * n  # cycles per n, full axis
    fx = np.fft.rfftfreq(n) * n  # cycles per n, half axis (real input)
    gain = np.exp(-(fy**2) / s2)[:, None] * np.exp(-(fx**2) / s2)[None, :]
    spectrum = np.fft.rfft2(fix, s=(n, n)) * gain  # rfft2 zero-pads to n×n
    return np.fft.irfft2(spectrum, s=(n, n))[:h, :w]


def other_fixations_map(j, image_index, y, x, shapes, n_other=10, seed=None):
    """Other-fixations map O of image ``j`` for shuffled AUC, docs/metrics.md §A.2.

    Draws ``min(n_other, n_images - 1)`` other images of the dataset without replacement
    (never ``j`` itself) and marks each of their fixations in ``j``'s frame: a fixation
    (y, x) of an H'×W' image lands on ``(floor(y·H/H'), floor(x·W/W'))`` (pysaliency's
    coordinate scaling), clipped into the frame.

    Args:
        j: index of the image being scored.
        image_index: (F,) int array, the image of each fixation of the dataset table.
        y, x: (F,) arrays of 0-based row and column of each fixation (int or float).
        shapes: (n_images, 2) array of every image's (H, W).
        n_other: how many other images to pool (MIT: 10).
        seed: seed or ``Generator`` for choosing the other images.

    Returns:
        (H_j, W_j) bool map, True at the pooled fixations.
    """
    shapes = np.asarray(shapes, dtype=np.int64).reshape(-1, 2)
    image_index = np.asarray(image_index, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if not image_index.shape == y.shape == x.shape:
        raise ValueError(
            f"image_index, y and x must have one entry per fixation, got shapes "
            f"{image_index.shape}, {y.shape}, {x.shape}"
        )
    n_images = shapes.shape[0]
    if not 0 <= j < n_images:
        raise ValueError(f"image {j} is not in a table of {n_images} images")
    h, w = shapes[j]
    candidates = np.delete(np.arange(n_images), j)
    chosen = np.random.default_rng(seed).choice(
        candidates, size=min(n_other, candidates.size), replace=False
    )
    keep = np.isin(image_index, chosen)
    src = shapes[image_index[keep]]  # (F', 2) source H', W'
    rows = np.clip(np.floor(y[keep] * h / src[:, 0]).astype(np.int64), 0, h - 1)
    cols = np.clip(np.floor(x[keep] * w / src[:, 1]).astype(np.int64), 0, w - 1)
    out = np.zeros((h, w), dtype=bool)
    out[rows, cols] = True
    return out


class FixationEvaluator:
    """Streaming dataset evaluator for the fixation metrics (docs/metrics.md §A).

    Call :meth:`step` once per image and :meth:`get_results` at the end. Memory is flat
    in the number of images apart from one float per image and metric.

    Per image it computes AUC-Judd (§A.1), shuffled AUC (§A.2), NSS (§A.3) against the
    fixation-location map, and CC (§A.4) and SIM (§A.5) against the density map. The
    dataset score of each metric is the mean over images skipping NaN, reported with
    the number of NaN images.

    Randomness is reproducible: image ``i`` (0-based, in ``step`` order) uses the seeds
    ``(seed, i, 0)`` for the AUC-Judd jitter and ``(seed, i, 1)`` for the sAUC splits, so
    one image's numbers do not depend on the others.

    Args:
        jitter: AUC-Judd jitter (§A.1); ``False`` for the exact, tie-pessimistic variant.
        n_splits: sAUC splits (§A.2, MIT: 100).
        seed: non-negative int, the root of every per-image seed.
        quantize: turn float predictions into uint8 with ``round(255 * clip(p, 0, 1))``
            first (docs/metrics.md §0), so in-memory and saved maps agree.

    Example:
        >>> ev = FixationEvaluator()
        >>> for sal, fixpts, fixmap, other in data:
        ...     ev.step(sal, fixpts, density=fixmap, other_fixations=other)
        >>> ev.get_results()["nss"]
    """

    METRICS = ("auc_judd", "sauc", "nss", "cc", "sim")

    def __init__(self, jitter=True, n_splits=100, seed=0, quantize=True):
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        self.jitter = bool(jitter)
        self.n_splits = int(n_splits)
        self.seed = int(seed)
        self.quantize = bool(quantize)
        self.values = {name: [] for name in self.METRICS}

    def step(self, saliency, fixpts, density=None, other_fixations=None):
        """Score one image.

        Args:
            saliency: H'×W' prediction (uint8, or float in [0, 1]); resized to the ground
                truth's size if it differs (§A.0).
            fixpts: H×W fixation-location map (> 0 = fixated).
            density: H×W continuous fixation map for CC and SIM. ``None`` builds it from
                ``fixpts`` with :func:`fixation_density` (§A.6).
            other_fixations: H×W other-fixations map O for sAUC (see
                :func:`other_fixations_map`). ``None`` records sAUC as NaN (counted).

        Returns:
            dict metric name -> float (NaN where undefined) for this image.
        """
        index = len(self.values["nss"])
        sal = to_uint8(saliency) if self.quantize else saliency
        if density is None:
            density = fixation_density(fixpts)
        if other_fixations is None:
            sauc_value = float("nan")
        else:
            sauc_value = shuffled_auc(
                sal, fixpts, other_fixations, n_splits=self.n_splits, seed=(self.seed, index, 1)
            )
        result = {
            "auc_judd": auc_judd(sal, fixpts, jitter=self.jitter, seed=(self.seed, index, 0)),
            "sauc": sauc_value,
            "nss": nss(sal, fixpts),
            "cc": cc(sal, density),
            "sim": sim(sal, density),
        }
        for name in self.METRICS:
            self.values[name].append(result[name])
        return result

    def get_results(self):
        """Dataset scores, JSON-serialisable (plain floats and lists; NaN allowed).

        Returns:
            dict with, for each metric name, the nanmean over images; ``nan_count`` (per
            metric, images whose value is NaN); ``n_images``; ``per_image`` (per metric,
            the list of per-image values in ``step`` order); ``config``.
        """
        results = {"n_images": len(self.values["nss"]), "nan_count": {}, "per_image": {}}
        for name in self.METRICS:
            mean, n_nan = nan_summary(self.values[name])
            results[name] = mean
            results["nan_count"][name] = n_nan
            results["per_image"][name] = [float(v) for v in self.values[name]]
        results["config"] = {
            "jitter": self.jitter,
            "n_splits": self.n_splits,
            "seed": self.seed,
            "quantize": self.quantize,
            "resize": "matlab_imresize bicubic (docs/metrics.md §A.0)",
        }
        return results
