"""Helpers shared by the fixation and salient-object metrics (METRICS.md, general rules)."""

import numpy as np


def to_uint8(pred):
    """A prediction as the uint8 image it would be on disk, METRICS.md general rules.

    ``uint8`` passes through unchanged; ``bool`` becomes 0/255; anything else is read as a
    map in [0, 1] and converted with ``round(255 * clip(p, 0, 1))`` (numpy rounding, half
    to even), so that evaluating in-memory float maps and saved PNGs gives the same numbers.
    """
    a = np.asarray(pred)
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * np.uint8(255)
    return np.rint(255.0 * np.clip(a.astype(np.float64), 0.0, 1.0)).astype(np.uint8)


def nan_summary(values):
    """``(nanmean, nan_count)`` of a list of per-image scalars, as plain Python numbers.

    The mean of an empty or all-NaN list is ``nan`` (no warning).
    """
    a = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(a)
    n_nan = int(a.size - np.count_nonzero(finite))
    mean = float(a[finite].mean()) if finite.any() else float("nan")
    return mean, n_nan
