"""main.py's image handling for the released model (docs/released_model.md §4), without
SciPy's removed `imread`/`imresize`/`bytescale`.

`released_preprocess` turns an image into the released network's input and
`released_postprocess` turns its final map into the PNG main.py writes; `predict
--postprocess released` uses both, and `display_rgb` for overlays and crops. numpy and
the light I/O layer: importing this module needs no Keras.
"""

import numpy as np

from asnet_keras.io import to_8bit

INPUT_SIZE = 224  # the released model's fixed input (docs/released_model.md §2.1)


def bytescale(data, cmin=None, cmax=None, high=255, low=0):
    """SciPy 1.0's `bytescale`, in the arithmetic `main.py` ran it with
    (docs/released_pipeline.md §4).

    uint8 passes through. Anything else: v → (v − cmin)·scale + low, clipped to
    [low, high], + 0.5, truncated to uint8, with cmin/cmax the array's minimum/maximum
    by default and scale = (high − low)/(cmax − cmin) (a zero range counts as 1, so a
    constant array maps to `low`).

    The arithmetic dtype is the one NumPy 1.x gave SciPy: a float array is computed in
    its own dtype (float32 for the network's maps): cmax − cmin in that dtype, the scale
    divided in float64 and rounded to it, then the subtraction, product, clip and + 0.5
    in it. Integer arrays are computed in float64. In float64 a float32 map rounds the
    other way on a few values (e.g. 234.4999847 in float32 → 234, 234.5000074 in
    float64 → 235).

    Args:
        data: array of any real dtype.
        cmin, cmax: the values mapped to `low` and `high` (default: data min/max).
        high, low: output range, 0 ≤ low ≤ high ≤ 255.
    Returns:
        uint8 array of data's shape.
    """
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data
    if not 0 <= low <= high <= 255:
        raise ValueError(f"bytescale: need 0 <= low <= high <= 255, got low={low}, high={high}")
    work = data.dtype.type if data.dtype.kind == "f" else np.float64
    cmin = data.min() if cmin is None else cmin  # array scalars: data's dtype
    cmax = data.max() if cmax is None else cmax
    span = cmax - cmin  # float32 − float32 stays float32, as in SciPy
    if span < 0:
        raise ValueError("bytescale: cmax must not be smaller than cmin")
    scale = work(float(high - low) / (float(span) or 1.0))
    scaled = (data.astype(work, copy=False) - work(cmin)) * scale + work(low)
    return (np.clip(scaled, work(low), work(high)) + work(0.5)).astype(np.uint8)


def _bilinear_coefficients(in_size, out_size):
    """Pillow's BILINEAR resampling weights for one axis, in its 22-bit fixed point.

    The triangle filter is widened by the scale factor when shrinking (antialiasing);
    each output pixel's weights are normalised to sum 1, then rounded to integers of
    2**22 (Pillow ≥ 2.7 `precompute_coeffs` + `normalize_coeffs_8bpc`).
    Returns an int64 (out_size, in_size) matrix.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for out in range(out_size):
        center = (out + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), in_size)
        taps = np.arange(first, last)
        weights = np.maximum(0.0, 1.0 - np.abs((taps - center + 0.5) * (1.0 / filter_scale)))
        total = weights.sum()
        if total:
            weights = weights / total
        matrix[out, first:last] = weights
    fixed = np.where(matrix < 0, -0.5, 0.5) + matrix * (1 << 22)
    return np.trunc(fixed).astype(np.int64)


def _resample_axis(image, coefficients, axis):
    """One pass of Pillow's 8-bit resampling: integer weighted sum, round, clip."""
    summed = np.tensordot(image.astype(np.int64), coefficients, axes=([axis], [1]))
    summed = np.moveaxis(summed, -1, axis) + (1 << 21)
    return np.clip(summed >> 22, 0, 255).astype(np.uint8)


def pillow_bilinear_resize(image, size):
    """Resize a uint8 (H, W) or (H, W, C) array as Pillow's `resize(size, BILINEAR)`.

    This is what SciPy's removed `imresize(..., interp="bilinear")` did after
    `bytescale` (docs/released_model.md §4, §7 item 6): horizontal pass first, rounded to
    uint8, then the vertical pass; antialiased when shrinking. Equal, pixel for pixel,
    to Pillow's result (tested against Pillow where it is installed).

    Args:
        image: uint8 array (H, W) or (H, W, C).
        size: (height, width) of the result (note: Pillow's own `size` is (w, h)).
    Returns:
        uint8 array (height, width[, C]).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"pillow_bilinear_resize takes uint8, got {image.dtype}.")
    height, width = (int(v) for v in size)
    if image.shape[1] != width:
        image = _resample_axis(image, _bilinear_coefficients(image.shape[1], width), 1)
    if image.shape[0] != height:
        image = _resample_axis(image, _bilinear_coefficients(image.shape[0], height), 0)
    return image


def released_preprocess(image, size=INPUT_SIZE):
    """main.py's resizing, up to the model input (docs/released_pipeline.md §1).

    A greyscale (H, W) image of any dtype is copied into 3 channels of a float64 array,
    which `imresize` min–max stretches to 0…255 (`bytescale`); an RGB uint8 image is
    used as is (an alpha channel, which main.py cannot handle, is dropped). Then a plain
    stretch (aspect ratio not kept) to size×size with Pillow's antialiased BILINEAR. The
    mean subtraction and the RGB → BGR flip happen inside the model (its `preprocess`
    layer). Pass the array `asnet_keras.io.released_reading.read_image_released` gives: whether
    main.py saw a file as 2-D or 3-D decides the stretch (docs/released_pipeline.md §2).

    Args:
        image: (H, W) or (H, W, 3|4) array, as `imread` gives: 2-D uint8/uint16/float
            for grey files, uint8 for colour.
        size: side of the square result (224 for the released model).
    Returns:
        float32 (size, size, 3) raw RGB values 0–255.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None].astype(np.float64), 3, axis=-1)
    elif image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3]
    else:
        raise ValueError(f"released_preprocess: expected (H, W) or (H, W, 3), got {image.shape}.")
    resized = pillow_bilinear_resize(bytescale(image), (size, size))
    return resized.astype(np.float32)


def released_postprocess(saliency, image_size):
    """main.py's `postprocess_predictions` and `imsave` (docs/released_model.md §4).

    `bytescale` of the map, Pillow BILINEAR resize to the image size, divide by the
    maximum and multiply by 255, truncate to integers, then `bytescale` again (what
    `imsave` does to a non-uint8 array).

    Args:
        saliency: (h, w) float map, e.g. `saliency_conv1` of one image (224×224).
        image_size: (H, W) of the original image.
    Returns:
        uint8 (H, W) map, minimum 0 and maximum 255 unless the map is constant (then 0).
    """
    saliency = np.asarray(saliency)
    if saliency.ndim == 3 and saliency.shape[-1] == 1:
        saliency = saliency[..., 0]
    resized = pillow_bilinear_resize(bytescale(saliency), image_size)
    peak = int(resized.max())
    if peak == 0:  # main.py divides by zero here; a blank map stays blank
        return np.zeros(resized.shape, dtype=np.uint8)
    stretched = (resized / peak * 255).astype(np.int64)
    return bytescale(stretched)


def display_rgb(image):
    """An array `asnet_keras.io.released_reading.read_image_released` gave, as RGB uint8
    (H, W, 3), for overlays and crops only.

    Grey is repeated to three channels; 16-bit grey is scaled to 8 bits as the default
    reader does (`asnet_keras.io.to_8bit`); float grey is min–max stretched. This never
    feeds the network.
    """
    image = to_8bit(image)
    if image.dtype != np.uint8:
        image = bytescale(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image
