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
    if a.dtype == np.float32:
        _check_float_map(a)
        return _float32_to_uint8(a)
    a = a.astype(np.float64)
    _check_float_map(a)
    return np.rint(255.0 * np.clip(a, 0.0, 1.0)).astype(np.uint8)


def _check_float_map(a):
    if a.size and a.max() > MAX_FLOAT_PREDICTION:
        raise ValueError(
            f"a float prediction must be a map in [0, 1] (max {a.max():.4g} given); it looks "
            "like a 0-255 map: pass it as uint8, or divide it by 255"
        )


# Within this distance of a half-integer the float32 product 255 · c may round otherwise
# than the exact one (off by ≤ 2⁻¹⁷ below 256), docs/metrics.md §0.
_NEAR_HALF = 0.5 - 2.0 ** -16


def _float32_to_uint8(a):
    """`round(255 · clip(p, 0, 1))` of a float32 map, in float32, equal to the float64
    formula (docs/metrics.md §0): half the memory traffic, for maps at photo size."""
    product = np.clip(a, np.float32(0), np.float32(1))
    product *= np.float32(255)
    rounded = np.rint(product)
    distance = np.abs(np.subtract(product, rounded, out=product), out=product)
    near = distance >= _NEAR_HALF
    if near.any():
        rounded[near] = np.rint(255.0 * np.clip(a[near].astype(np.float64), 0.0, 1.0))
    return rounded.astype(np.uint8)


def nan_summary(values):
    """``(nanmean, nan_count)`` of a list of per-image scalars, as plain Python numbers.

    The mean of an empty or all-NaN list is ``nan`` (no warning).
    """
    a = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(a)
    n_nan = int(a.size - np.count_nonzero(finite))
    mean = float(a[finite].mean()) if finite.any() else float("nan")
    return mean, n_nan
