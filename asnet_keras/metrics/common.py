"""Helpers shared by the fixation and salient-object metrics (docs/metrics.md §0)."""

import numpy as np

# Float maps slightly above 1 (bicubic overshoot) are clipped; far above is a unit error.
MAX_FLOAT_PREDICTION = 2.0


def to_uint8(pred):
    """A prediction as the uint8 image it would be on disk, docs/metrics.md §0.

    ``uint8`` passes through unchanged; ``bool`` becomes 0/255; other integer dtypes must
    hold grey levels 0–255 and are cast; a float array is read as a map in [0, 1] and converted with ``round(255 * clip(p, 0, 1))`` (numpy rounding, half
    to even), so that evaluating in-memory float maps and saved PNGs gives the same numbers.
    A float map with values above 2 is refused (ValueError): it is almost surely 0–255.
    """
    a = np.asarray(pred)
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(a.dtype, np.integer):
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(
                f"an integer map must hold grey levels 0-255, got [{a.min()}, {a.max()}] "
                f"({a.dtype}); convert it to uint8 yourself"
            )
        return a.astype(np.uint8)
    a = a.astype(np.float64)
    if a.size and a.max() > MAX_FLOAT_PREDICTION:
        raise ValueError(
            f"a float prediction must be a map in [0, 1] (max {a.max():.4g} given); it looks "
            "like a 0-255 map: pass it as uint8, or divide it by 255"
        )
    return np.rint(255.0 * np.clip(a, 0.0, 1.0)).astype(np.uint8)


def nan_summary(values):
    """``(nanmean, nan_count)`` of a list of per-image scalars, as plain Python numbers.

    The mean of an empty or all-NaN list is ``nan`` (no warning).
    """
    a = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(a)
    n_nan = int(a.size - np.count_nonzero(finite))
    mean = float(a[finite].mean()) if finite.any() else float("nan")
    return mean, n_nan
