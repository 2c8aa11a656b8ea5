"""Saliency-aware cropping: the window of a given aspect ratio that keeps the most map mass.

The rule (`docs/serving.md §2`), for a non-negative map M of H×W pixels, an aspect
ratio a:b (width:height) and a scale s in (0, 1]:

1. Window size. The largest a:b window that fits in the image: if W/H ≥ a/b the window
   is the full height, h0 = H and w0 = round(H·a/b); otherwise the full width,
   w0 = W and h0 = round(W·b/a). With a scale, w = round(s·w0) and h = round(s·h0),
   at least 1 pixel each. Rounding is half up, computed on exact fractions.
2. Search. Every position (x, y) with 0 ≤ x ≤ W−w and 0 ≤ y ≤ H−h is scored by the
   mass inside the window, sum(M[y:y+h, x:x+w]), read off an integral image in O(1)
   per position (O(H·W) in all): exact, not a coarse grid.
3. Choice. The highest mass wins. Ties (exact equality for integer maps such as the
   uint8 maps that `predict` writes; within 1e-9 of the map's total mass for float maps)
   go to the window whose centre is nearest the image centre, then to the smallest y,
   then the smallest x. A map with no mass therefore gives the centred window.

Example:
    >>> box = crop_box(saliency_uint8, "16:9")
    >>> thumbnail = image[box.rows, box.cols]
    >>> box.to_dict()
    {'aspect': '16:9', 'x': 40, 'y': 0, 'width': 533, 'height': 300, ...}
"""

import dataclasses
import json
import os
import re
from fractions import Fraction

import numpy as np

from asnet_keras.io.atomic_files import atomic_write_bytes, atomic_write_text

# "16:9", "1.91:1", "4x5", "1/1": two positive decimals separated by ':', 'x' or '/'.
_ASPECT = re.compile(r"^\s*(\d{1,6}(?:\.\d{1,6})?)\s*[:xX/]\s*(\d{1,6}(?:\.\d{1,6})?)\s*$")
FLOAT_TIE_TOLERANCE = 1e-9  # relative to the map's total mass, for float maps


@dataclasses.dataclass(frozen=True)
class Aspect:
    """An aspect ratio width:height; `ratio` is exact, `label` as written ("16:9")."""

    ratio: Fraction
    label: str

    @property
    def tag(self):
        """The label as a file-name part: "16:9" → "16x9"."""
        return self.label.replace(":", "x")


def parse_aspect(text):
    """ "16:9" (also "16x9", "1.91:1", "4/5") → `Aspect`; ValueError with the fix otherwise."""
    if isinstance(text, Aspect):
        return text
    match = _ASPECT.match(str(text))
    if not match:
        raise ValueError(
            f"aspect ratio {text!r}: write it as WIDTH:HEIGHT with positive numbers, "
            "e.g. 16:9, 1:1, 4:5 or 1.91:1"
        )
    width, height = Fraction(match.group(1)), Fraction(match.group(2))
    if width <= 0 or height <= 0:
        raise ValueError(f"aspect ratio {text!r}: both sides must be greater than 0, e.g. 16:9")
    ratio = width / height
    if not Fraction(1, 100) <= ratio <= 100:
        raise ValueError(f"aspect ratio {text!r}: must lie between 1:100 and 100:1")
    return Aspect(ratio, f"{match.group(1)}:{match.group(2)}")


def parse_aspects(text):
    """A comma-separated list ("16:9,1:1") → list of `Aspect`, duplicates removed."""
    aspects, seen = [], set()
    for part in str(text).split(","):
        if not part.strip():
            continue
        aspect = parse_aspect(part)
        if aspect.label not in seen:
            seen.add(aspect.label)
            aspects.append(aspect)
    if not aspects:
        raise ValueError(f"no aspect ratio in {text!r}; pass e.g. 16:9 or 16:9,1:1")
    return aspects


def _round_half_up(value):
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def window_size(height, width, aspect, scale=1.0):
    """The crop's (h, w) for an image of height×width (step 1 of the rule)."""
    ratio = parse_aspect(aspect).ratio
    scale = Fraction(scale)
    if not 0 < scale <= 1:
        raise ValueError(f"scale={float(scale)}: pass a fraction of the largest crop in (0, 1]")
    if Fraction(width, height) >= ratio:
        h0, w0 = Fraction(height), min(Fraction(width), Fraction(height) * ratio)
    else:
        h0, w0 = min(Fraction(height), Fraction(width) / ratio), Fraction(width)
    h = min(height, max(1, _round_half_up(h0 * scale)))
    w = min(width, max(1, _round_half_up(w0 * scale)))
    return h, w


def integral_image(saliency):
    """(H+1, W+1) cumulative sums with a zero first row and column (int64 or float64)."""
    a = np.asarray(saliency)
    dtype = np.int64 if np.issubdtype(a.dtype, np.integer) or a.dtype == bool else np.float64
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype)
    np.cumsum(a, axis=0, dtype=dtype, out=out[1:, 1:])
    np.cumsum(out[1:, 1:], axis=1, out=out[1:, 1:])
    return out


def window_sums(saliency, h, w, integral=None):
    """Mass of every h×w window: (H−h+1, W−w+1) array, entry [y, x] = sum(M[y:y+h, x:x+w]).

    `integral`: the map's `integral_image`, if already computed.
    """
    s = integral_image(saliency) if integral is None else integral
    return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]


@dataclasses.dataclass(frozen=True)
class CropBox:
    """A crop window in pixels of the map (and image) it was found on.

    `mass` is the map mass inside the window, `total` the map's whole mass, `fraction`
    their ratio (None when the map has no mass).
    """

    aspect: str
    x: int
    y: int
    width: int
    height: int
    mass: float
    total: float

    @property
    def fraction(self):
        return None if self.total <= 0 else float(self.mass) / float(self.total)

    @property
    def rows(self):
        return slice(self.y, self.y + self.height)

    @property
    def cols(self):
        return slice(self.x, self.x + self.width)

    def crop(self, image):
        """The window of an image of the map's size: image[y:y+h, x:x+w]."""
        return image[self.rows, self.cols]

    def to_dict(self):
        mass = int(self.mass) if float(self.mass).is_integer() else float(self.mass)
        total = int(self.total) if float(self.total).is_integer() else float(self.total)
        return {"aspect": self.aspect, "x": self.x, "y": self.y, "width": self.width,
                "height": self.height, "mass": mass, "total_mass": total,
                "mass_fraction": self.fraction}


def _check_map(saliency):
    a = np.asarray(saliency)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"crop_box needs a non-empty 2-D map, got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"crop_box needs a numeric map, got dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError("crop_box: the map holds NaN or infinite values")
    if a.dtype.kind in "if" and a.min() < 0:
        raise ValueError("crop_box: the map has negative values; mass must be non-negative")
    return a


def crop_box(saliency, aspect, scale=1.0):
    """The a:b window keeping the most saliency mass (the rule in the module docstring).

    Args:
        saliency: (H, W) or (H, W, 1) non-negative map; uint8 (0–255) as `predict`
            writes it, or float.
        aspect: "16:9"-style string or `Aspect`.
        scale: the window's size as a fraction of the largest a:b window, in (0, 1].
    Returns:
        `CropBox` in the map's pixels.
    """
    a = _check_map(saliency)
    aspect = parse_aspect(aspect)
    height, width = a.shape
    h, w = window_size(height, width, aspect, scale)
    integral = integral_image(a)
    sums = window_sums(a, h, w, integral)
    total = integral[-1, -1]
    best = sums.max()
    if sums.dtype == np.int64:
        ties = np.argwhere(sums == best)
    else:
        ties = np.argwhere(sums >= best - FLOAT_TIE_TOLERANCE * max(float(total), 1e-300))
    # Centre distance in doubled integer coordinates: (2x + w − W)² + (2y + h − H)².
    dy = 2 * ties[:, 0] + h - height
    dx = 2 * ties[:, 1] + w - width
    order = np.lexsort((ties[:, 1], ties[:, 0], dx * dx + dy * dy))
    y, x = (int(v) for v in ties[order[0]])
    mass = sums[y, x]
    return CropBox(aspect.label, x, y, w, h, mass.item(), total.item())


def crop_boxes(saliency, aspects, scale=1.0):
    """`crop_box` for each aspect of a list or a "16:9,1:1" string; list of `CropBox`."""
    if isinstance(aspects, str):
        aspects = parse_aspects(aspects)
    return [crop_box(saliency, aspect, scale) for aspect in aspects]


# ------------------------------------------------------------------ files (predict --crop)


def aspects_argument(text):
    """argparse `type=` for "16:9,1:1": list of `Aspect`, or a usage error that says why."""
    import argparse

    try:
        return parse_aspects(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def crop_path(out, name, aspect):
    """`OUT/crop-<a>x<b>/<name>.png`, the file `write_crops` writes (`name` may hold
    "/"-separated folders)."""
    return os.path.join(out, f"crop-{parse_aspect(aspect).tag}", *f"{name}.png".split("/"))


def write_crops(out, name, image, saliency, aspects, scale=1.0):
    """Write `crop_path(out, name, aspect)` for each aspect: the image cut to `crop_box`.

    Args:
        out: the output folder (the one holding saliency/ and fixation/).
        name: file stem (or relative path without extension).
        image: RGB uint8 (H, W, 3).
        saliency: the uint8 (H, W) map the crop is searched on.
        aspects: list of `Aspect` or "16:9"-style strings.
    Returns:
        (dict "crop-16x9" → written path, list of `CropBox`).
    Raises:
        OSError: a crop could not be written.
    """
    from asnet_keras.io.encoding import write_image  # loads OpenCV: only when writing

    paths, boxes = {}, []
    for aspect in aspects:
        aspect = parse_aspect(aspect)
        box = crop_box(saliency, aspect, scale)
        path = crop_path(out, name, aspect)
        write_image(path, box.crop(image))  # whole or not at all (full disk)
        paths[f"crop-{aspect.tag}"] = path
        boxes.append(box)
    return paths, boxes


def write_crop_index(out, boxes_by_image, keep_existing=False):
    """Write `OUT/crops.json`: {image path: [box dict, …]} (`CropBox.to_dict`); with
    `keep_existing`, the entries of an earlier run's file are kept unless replaced
    (`predict --skip-existing`)."""
    path = os.path.join(out, "crops.json")
    content = {}
    if keep_existing and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                content = json.load(f)
        except (OSError, ValueError):
            content = {}
        content = content if isinstance(content, dict) else {}
    content.update({str(k): [b.to_dict() for b in v] for k, v in boxes_by_image.items()})
    atomic_write_text(path, json.dumps(content, indent=1))
    return path
