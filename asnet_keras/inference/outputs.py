"""What people make of a saliency map: a binary mask, a cut-out, a new background, an overlay.

Pure numpy and OpenCV, one function per output (docs/outputs.md §1–§3). Every function
takes

- `image`: RGB uint8 (H, W, 3), the pixels the map was computed from, i.e.
  `MapPipeline.as_rgb` of what `MapPipeline.read` gave (`asnet_keras.io.read_image`:
  stored pixel order, no EXIF rotation, exactly as for the maps; docs/outputs.md §1);
- `saliency`: the uint8 (H, W) saliency map at the image's size (`MapPipeline.finish`'s
  "saliency").

Output kinds (`OUTPUT_KINDS`), what `predict --output` writes and `POST /predict?output=`
answers:

    map         the grey maps themselves (saliency, and fixation where the model has it)
    mask        `binary_mask`: 0/255, adaptive threshold min(2·mean, 255) or a fixed one
    cutout      `cutout`: RGBA, colours the image's own, alpha = the saliency map
    background  `composite` over `Background.layer`: a colour, the image blurred, or
                another picture resized to cover
    overlay     `overlay`: the map in JET colours blended over the image

Example:
    >>> options = OutputOptions(threshold="adaptive", background=parse_background("blur"))
    >>> rgba = options.render("cutout", image, saliency)      # (H, W, 4) uint8
    >>> composite_rgb = options.render("background", image, saliency)
"""

import dataclasses
import enum
import math
import os
import re

import numpy as np

from asnet_keras.io import DEFAULT_MAX_PIXELS, read_image
from asnet_keras.io.decoding import cv2
from asnet_keras.io.encoding import encode_image

OUTPUT_KINDS = ("map", "mask", "cutout", "background", "overlay")
#: `predict`'s default: today's grey maps.
DEFAULT_OUTPUTS = ("map",)
#: File extension of each derived output in `predict` (the service answers PNG for all).
EXTENSIONS = {"mask": ".png", "cutout": ".png", "background": ".png", "overlay": ".jpg"}
ADAPTIVE = "adaptive"
#: The default background: what `predict --background` and the service use unless told.
DEFAULT_BACKGROUND = "white"
#: `blur` without σ: σ = this fraction of the image's longer side (docs/outputs.md §3).
BLUR_FRACTION = 0.02
MAX_BLUR_SIGMA = 1000.0
_EXACT_BLUR_SIGMA = 4.0  # above this σ the blur runs on a shrunk copy (docs/outputs.md §3)
OVERLAY_ALPHA = 0.5
COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128),
           "gray": (128, 128, 128), "red": (255, 0, 0), "green": (0, 255, 0),
           "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255),
           "magenta": (255, 0, 255)}
_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
_BLUR = re.compile(r"^blur(?::(.*))?$")


class OutputKind(str, enum.Enum):
    """`OUTPUT_KINDS` as a typed enumeration (the service's `output` parameter)."""

    map = "map"
    mask = "mask"
    cutout = "cutout"
    background = "background"
    overlay = "overlay"


def parse_outputs(text):
    """ "map,mask" (or a sequence of kinds) → ("map", "mask"), each kind once, in the
    order given; ValueError naming the kinds otherwise."""
    text = text if isinstance(text, str) else ",".join(map(str, text))
    kinds = [k.strip().lower() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in OUTPUT_KINDS]
    if not kinds or unknown:
        raise ValueError(f"--output {text!r}: pass one or more of {', '.join(OUTPUT_KINDS)} "
                         "separated by commas, e.g. --output cutout,mask")
    return tuple(dict.fromkeys(kinds))


def parse_threshold(text):
    """ "adaptive" → `ADAPTIVE`; "1" … "255" → that int; ValueError otherwise."""
    text = str(text).strip().lower()
    if text == ADAPTIVE:
        return ADAPTIVE
    if not text.isdigit() or not 1 <= int(text) <= 255:
        raise ValueError(f"--mask-threshold {text!r}: pass 'adaptive' (2 × the map's mean) "
                         "or a grey level from 1 to 255")
    return int(text)


def _check_pair(image, saliency):
    image, saliency = np.asarray(image), np.asarray(saliency)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"the image must be RGB uint8 (H, W, 3); got {image.dtype} "
                         f"{image.shape}")
    _check_map(saliency)
    if saliency.shape != image.shape[:2]:
        raise ValueError(f"the map is {saliency.shape[1]} × {saliency.shape[0]} px but the "
                         f"image {image.shape[1]} × {image.shape[0]}: pass the map at the "
                         "image's size (MapPipeline.finish)")
    return image, saliency


def _check_map(saliency):
    if saliency.dtype != np.uint8 or saliency.ndim != 2 or 0 in saliency.shape:
        raise ValueError(f"the saliency map must be uint8 (H, W); got {saliency.dtype} "
                         f"{saliency.shape}")


def mask_threshold(saliency, threshold=ADAPTIVE):
    """The grey level a pixel must reach to be foreground (docs/outputs.md §2).

    Adaptive: θ = min(2 · mean(map), 255), the adaptive threshold of the salient-object
    literature (docs/metrics.md §B.2), here on the uint8 map as written; then at least 1,
    so that a map with no saliency gives an empty mask. Fixed: the grey level given.

    Returns:
        float θ in [1, 255].
    """
    saliency = np.asarray(saliency)
    _check_map(saliency)
    if threshold == ADAPTIVE:
        theta = min(2.0 * float(saliency.mean(dtype=np.float64)), 255.0)
    else:
        theta = float(parse_threshold(threshold))
    return max(theta, 1.0)


def binary_mask(saliency, threshold=ADAPTIVE):
    """uint8 (H, W): 255 where map ≥ θ (`mask_threshold`), 0 elsewhere."""
    saliency = np.asarray(saliency)
    theta = mask_threshold(saliency, threshold)
    return np.where(saliency >= theta, np.uint8(255), np.uint8(0))


def cutout(image, saliency):
    """RGBA uint8 (H, W, 4): the image's own colours, alpha = the saliency map, unchanged."""
    image, saliency = _check_pair(image, saliency)
    return np.dstack([image, saliency])


def composite(image, alpha, layer):
    """The image over `layer` through `alpha`, per pixel and channel, in integers:

        out = (α · I + (255 − α) · B + 127) // 255       (α, I, B in 0…255)

    i.e. α/255 · I + (1 − α/255) · B rounded half up; where α = 255 the output is I
    exactly, where α = 0 it is B exactly (docs/outputs.md §3).

    Args:
        image, layer: RGB uint8 (H, W, 3); alpha: uint8 (H, W).
    """
    image, alpha = _check_pair(image, alpha)
    layer = np.asarray(layer)
    if layer.shape != image.shape or layer.dtype != np.uint8:
        raise ValueError(f"the background layer must be uint8 {image.shape}; got "
                         f"{layer.dtype} {layer.shape}")
    a = alpha.astype(np.uint16)[..., None]
    # 255 · 255 + 127 = 65,152 < 2¹⁶: exact in uint16
    out = a * image + (np.uint16(255) - a) * layer + np.uint16(127)
    return (out // np.uint16(255)).astype(np.uint8)


def overlay(image, saliency, alpha=OVERLAY_ALPHA):
    """The saliency map (uint8) as a JET colour map blended over the RGB image (uint8):
    round((1 − alpha) · image + alpha · JET(map))."""
    image, saliency = _check_pair(image, saliency)
    colour = cv2.applyColorMap(saliency, cv2.COLORMAP_JET)[:, :, ::-1]
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colour.astype(np.float32)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def cover(picture, height, width):
    """`picture` (RGB uint8) scaled by max(W/w, H/h), keeping its aspect ratio, so that it
    covers height × width, then cut to that size around its centre."""
    h, w = picture.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    if (new_w, new_h) != (w, h):
        shrink = new_w * new_h < w * h
        picture = cv2.resize(picture, (new_w, new_h),
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return np.ascontiguousarray(picture[top:top + height, left:left + width])


def blur(image, sigma=None):
    """The image blurred with a Gaussian of σ px (default `BLUR_FRACTION` × the longer
    side). Up to σ = 4 it is OpenCV's Gaussian blur; above, the image is shrunk by
    f = σ/4 (area), blurred with σ/f = 4 and enlarged back (bilinear): the same blur
    within a fraction of a pixel of σ, at a cost that does not grow with σ
    (docs/outputs.md §3)."""
    height, width = image.shape[:2]
    if sigma is None:
        sigma = max(1.0, BLUR_FRACTION * max(height, width))
    if sigma <= _EXACT_BLUR_SIGMA:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    factor = sigma / _EXACT_BLUR_SIGMA
    small = cv2.resize(image, (max(1, round(width / factor)), max(1, round(height / factor))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), _EXACT_BLUR_SIGMA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


@dataclasses.dataclass(frozen=True)
class Background:
    """What replaces the background (`--background`; `parse_background` builds it).

    Attributes:
        kind: "colour", "blur" or "image".
        colour: RGB triple (kind "colour").
        sigma: blur σ in pixels, or None for the default (kind "blur").
        path, picture: the other image's file and its RGB uint8 pixels (kind "image").
    """

    kind: str
    colour: tuple = None
    sigma: float = None
    path: str = None
    picture: np.ndarray = dataclasses.field(default=None, compare=False, repr=False)
    # kind "image": the last size's covered picture, {(height, width): pixels}; every
    # frame of a video (and a folder of same-size photos) reuses it instead of resizing.
    _covered: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def layer(self, image):
        """RGB uint8 of `image`'s shape, read-only: what shows where the saliency map is 0."""
        height, width = image.shape[:2]
        if self.kind == "colour":
            return np.broadcast_to(np.asarray(self.colour, np.uint8), image.shape)
        if self.kind == "blur":
            return blur(image, self.sigma)
        covered = self._covered.get((height, width))
        if covered is None:
            covered = cover(self.picture, height, width)
            covered.flags.writeable = False
            self._covered.clear()
            self._covered[(height, width)] = covered
        return covered


def parse_background(text, max_pixels=DEFAULT_MAX_PIXELS):
    """`--background`: a colour name (`COLOURS`), #RRGGBB, blur or blur:σ (σ in pixels,
    0 < σ ≤ 1000), or an image file (read now, once, under `max_pixels`;
    `asnet_keras.io.read_image`). A colour name wins over a file of the same name
    (write ./red for the file).

    Raises:
        ValueError: none of these, or an image that cannot be read (named).
    """
    text = str(text).strip()
    lowered = text.lower()
    if lowered in COLOURS:
        return Background("colour", colour=COLOURS[lowered])
    match = _HEX.match(text)
    if match:
        value = match.group(1)
        return Background("colour", colour=tuple(int(value[i:i + 2], 16) for i in (0, 2, 4)))
    match = _BLUR.match(lowered)
    if match:
        if match.group(1) is None:
            return Background("blur")
        try:
            sigma = float(match.group(1))
        except ValueError:
            sigma = math.nan
        if not (math.isfinite(sigma) and 0 < sigma <= MAX_BLUR_SIGMA):
            raise ValueError(f"--background {text!r}: write blur:σ with σ in pixels, more "
                             f"than 0 and at most {MAX_BLUR_SIGMA:g} (e.g. blur:12)")
        return Background("blur", sigma=sigma)
    if os.path.isfile(text):
        return Background("image", path=text, picture=read_image(text, max_pixels,
                                                                 name="--max-pixels"))
    raise ValueError(f"--background {text!r}: pass a colour ({', '.join(COLOURS)} or "
                     "#RRGGBB), blur or blur:σ (σ in pixels), or an image file that exists")


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """How the derived outputs are made: the mask threshold and the background.

    Attributes:
        threshold: `ADAPTIVE` or a grey level 1–255 (`mask_threshold`).
        background: a `Background` (default: white).
    """

    threshold: object = ADAPTIVE
    background: Background = Background("colour", colour=COLOURS[DEFAULT_BACKGROUND])

    def render(self, kind, image, saliency):
        """One derived output of `image` and its saliency map: mask (uint8 (H, W)),
        cutout (RGBA (H, W, 4)), background or overlay (RGB (H, W, 3)).

        Raises:
            ValueError: "map" (the maps are `MapPipeline.finish`'s, not rendered) or an
                unknown kind.
        """
        if kind == "mask":
            _check_pair(image, saliency)
            return binary_mask(saliency, self.threshold)
        if kind == "cutout":
            return cutout(image, saliency)
        if kind == "background":
            return composite(image, saliency, self.background.layer(np.asarray(image)))
        if kind == "overlay":
            return overlay(image, saliency)
        raise ValueError(f"no rendering for output {kind!r}: pass one of {', '.join(EXTENSIONS)}")


def render_png(kind, image, saliency, options=None):
    """`OutputOptions.render` of one output, encoded as PNG bytes (the service's answer;
    `options` default: adaptive threshold, white background)."""
    return encode_image((options or OutputOptions()).render(kind, image, saliency), ".png")
