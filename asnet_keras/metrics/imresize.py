"""MATLAB ``imresize`` (bicubic) for the fixation metrics, docs/metrics.md §A.0.

The MIT saliency benchmark resizes a prediction to the size of the ground truth with
MATLAB's ``imresize``. Plain bilinear resizing (cv2, PIL, tf.image) moves NSS by up to
~1e-2 and CC/SIM by ~2e-3 on small maps, so the fixation metrics use this port instead.

Per axis of input length ``n`` and output length ``m`` (scale ``s = m / n``):

- output sample ``x`` (1-based) reads input coordinate ``u = x / s + (1 - 1 / s) / 2``;
- the kernel is the bicubic ``k`` with ``a = -0.5`` (``cubic``); when shrinking
  (``s < 1``) it is the antialiasing kernel ``s * k(s * t)`` with support ``4 / s``;
- each output sample uses ``ceil(support) + 2`` taps starting at ``floor(u - support / 2)``,
  and the taps are normalised to sum to 1 (Octave's ``imresize`` skips this when shrinking);
- tap indices outside ``1..n`` are mirrored: ``..., 2, 1, 1, 2, ..., n, n, n - 1, ...``.

The axes are processed in order of increasing scale; an axis whose size is unchanged is
skipped. Everything is float64: unlike MATLAB on a uint8 image, the result is *not*
rounded back to uint8 (the metrics convert ``uint8`` inputs with ``x / 255`` first).

Implementation: per axis, a weight matrix and an index matrix of shape ``(m, taps)`` are
built once, and the resize is one gather plus one weighted sum over the taps, with no
Python loop over pixels.
"""

import numpy as np


def cubic(t):
    """Bicubic convolution kernel with a = -0.5 (Keys), docs/metrics.md §A.0.

    Args:
        t: array of distances (any shape).

    Returns:
        float64 array of the same shape:
        ``1.5|t|^3 - 2.5|t|^2 + 1`` for ``|t| <= 1``,
        ``-0.5|t|^3 + 2.5|t|^2 - 4|t| + 2`` for ``1 < |t| <= 2``, else 0.
    """
    a = np.abs(np.asarray(t, dtype=np.float64))
    a2 = a * a
    a3 = a2 * a
    inner = 1.5 * a3 - 2.5 * a2 + 1.0
    outer = -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0
    return np.where(a <= 1.0, inner, np.where(a <= 2.0, outer, 0.0))


def imresize_weights(n_in, n_out):
    """Tap weights and 0-based mirrored tap indices of one axis, docs/metrics.md §A.0.

    Args:
        n_in: input length along the axis (>= 1).
        n_out: output length along the axis (>= 1).

    Returns:
        ``(weights, indices)``, both of shape ``(n_out, taps)``: output sample ``i`` is
        ``sum_k weights[i, k] * input[indices[i, k]]``. Rows of ``weights`` sum to 1;
        ``indices`` are 0-based and already mirrored into ``0..n_in-1``.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"imresize needs positive sizes, got {n_in} -> {n_out}")
    scale = n_out / n_in
    support = 4.0 if scale >= 1 else 4.0 / scale
    x = np.arange(1, n_out + 1, dtype=np.float64)[:, None]
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    taps = int(np.ceil(support)) + 2
    left = np.floor(u - support / 2.0)
    indices = left + np.arange(taps, dtype=np.float64)[None, :]  # 1-based, unmirrored
    if scale < 1:
        weights = scale * cubic(scale * (u - indices))  # antialiasing kernel
    else:
        weights = cubic(u - indices)
    weights = weights / weights.sum(axis=1, keepdims=True)  # taps normalised to sum to 1
    # Symmetric padding: 1-based index j maps through [1..n, n..1] taken periodically.
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * n_in)]
    return weights, indices


def resize_axis_order(in_shape, out_shape):
    """Axes (0 = rows, 1 = columns) that MATLAB resizes, in the order it resizes them.

    Axes are sorted by increasing scale ``out / in`` (rows first on a tie, as MATLAB's
    stable ``sort``); axes whose size does not change are left out.
    """
    scales = [out_shape[a] / in_shape[a] for a in (0, 1)]
    order = sorted((0, 1), key=lambda a: scales[a])
    return [a for a in order if in_shape[a] != out_shape[a]]


def _resize_axis(array, n_out, axis):
    """Resize ``array`` (float64, ndim >= 2) along ``axis`` to length ``n_out``."""
    weights, indices = imresize_weights(array.shape[axis], n_out)
    moved = np.moveaxis(array, axis, 0)  # (n_in, ...)
    gathered = moved[indices]  # (n_out, taps, ...)
    w = weights.reshape(weights.shape + (1,) * (moved.ndim - 1))
    return np.moveaxis((w * gathered).sum(axis=1), 0, axis)


def matlab_imresize(array, shape):
    """Resize a 2-D map (or an H×W×C stack) to ``shape`` like MATLAB ``imresize``.

    docs/metrics.md §A.0: bicubic (a = -0.5), antialiasing when shrinking, taps normalised to
    sum to 1, symmetric padding, axes in order of increasing scale.

    Args:
        array: H×W or H×W×C array, any real dtype; it is converted to float64 *without*
            rescaling (pass ``x / 255`` yourself if you want MATLAB's ``im2double``).
        shape: the output ``(rows, cols)``; extra trailing entries are ignored.

    Returns:
        float64 array of shape ``shape[:2] + array.shape[2:]``. A new array even when
        no axis changes.

    Example:
        >>> matlab_imresize(np.array([[0.0, 1.0, 2.0, 3.0]]), (1, 8))[0, :2]
        array([-0.09375  ,  0.1796875])
    """
    out = np.array(array, dtype=np.float64)  # copy
    if out.ndim < 2:
        raise ValueError(f"matlab_imresize expects an H×W (or H×W×C) array, got shape {out.shape}")
    out_shape = (int(shape[0]), int(shape[1]))
    for axis in resize_axis_order(out.shape, out_shape):
        out = _resize_axis(out, out_shape[axis], axis)
    return out
