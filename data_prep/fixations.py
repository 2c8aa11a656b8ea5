"""Fixation points -> point maps, density maps and the ``fixations.npz`` table.

Conventions (docs/datasets.md §0 "Coordinates", (a), (b); docs/metrics.md §A.6):

* Sources give coordinates with a ``base`` of 1 (MATLAB) or 0 (DUT-OMRON). The pixel of a
  point is ``col = floor(x + 0.5) - base``, ``row = floor(y + 0.5) - base`` (MATLAB
  ``round``, halves away from zero, for the non-negative values that occur). The table
  stores the 0-based float position ``x - base``, ``y - base``.
* Points whose pixel falls outside ``[0, W-1] x [0, H-1]`` are dropped and counted;
  with ``clip_margin > 0`` (DUT-OMRON: "clip to the image anyway") those at most that
  many pixels outside are moved to the border instead and counted as clipped.
* Point map ("fixpts"): ``(H, W) uint8``, 255 at every fixated pixel, else 0.
* Density map ("fixmap"): ``(H, W) uint8`` scaled so that its maximum is 255 (all zero
  when there is no fixation). Two blurs: :func:`density_fc8` (MIT/Torralba Gaussian,
  fc = 8 cycles per image, in the Fourier domain, docs/metrics.md §A.6) and
  :func:`density_sigma` (``scipy.ndimage`` Gaussian, SALICON API, min-max normalised).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

import numpy as np
import scipy.fft
from scipy import ndimage

FC8 = {
    "name": "fc8-fourier",
    "description": "binary point map blurred by a Gaussian low-pass in the Fourier domain "
    "with cut-off fc = 8 cycles/image (MIT/Torralba antonioGaussian): zero-padded to n x n, "
    "n = next power of two >= max(H, W), transfer function exp(-(fx^2 + fy^2) / s^2), "
    "s = 8 / sqrt(ln 2), circular on the padded grid, cropped, scaled to max 255 "
    "(spatial sigma ~ 0.0234 n); docs/metrics.md §A.6",
    "fc": 8,
}


@dataclass
class Points:
    """In-frame fixations of one image, 0-based: ``x``, ``y`` float64 (x = column),
    ``row``, ``col`` int64 pixel indices, ``subject`` int64 (-1 unknown); all (N,)."""

    x: np.ndarray
    y: np.ndarray
    row: np.ndarray
    col: np.ndarray
    subject: np.ndarray
    dropped: int = 0
    clipped: int = 0


def to_points(x, y, subject, base: int, hw: tuple[int, int], clip_margin: float = 0.0) -> Points:
    """Convert raw coordinates (any base) to in-frame 0-based :class:`Points`."""
    h, w = hw
    x = np.asarray(x, np.float64).reshape(-1)
    y = np.asarray(y, np.float64).reshape(-1)
    if np.ndim(subject) == 0:  # one subject id for all points
        subject = np.full(x.shape, int(subject), np.int64)
    else:
        subject = np.asarray(subject, np.int64).reshape(-1)
    finite = np.isfinite(x) & np.isfinite(y)
    x0, y0 = x - base, y - base
    col = np.floor(np.where(finite, x, 0) + 0.5).astype(np.int64) - base
    row = np.floor(np.where(finite, y, 0) + 0.5).astype(np.int64) - base
    inside = finite & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    clip = np.zeros_like(inside)
    if clip_margin > 0:
        near = finite & ~inside & (col >= -clip_margin) & (col <= w - 1 + clip_margin) \
            & (row >= -clip_margin) & (row <= h - 1 + clip_margin)
        clip = near
        col = np.where(near, np.clip(col, 0, w - 1), col)
        row = np.where(near, np.clip(row, 0, h - 1), row)
        x0 = np.where(near, np.clip(x0, 0, w - 1), x0)
        y0 = np.where(near, np.clip(y0, 0, h - 1), y0)
    keep = inside | clip
    return Points(x0[keep], y0[keep], row[keep], col[keep], subject[keep],
                  dropped=int((~keep).sum()), clipped=int(clip.sum()))


def points_from_map(fixpts: np.ndarray, subject: int = -1) -> Points:
    """Every nonzero pixel of a point map as one fixation (row-major order)."""
    row, col = np.nonzero(fixpts)
    row, col = row.astype(np.int64), col.astype(np.int64)
    return Points(col.astype(np.float64), row.astype(np.float64), row, col,
                  np.full(row.shape, subject, np.int64))


def point_map(points: Points, hw: tuple[int, int]) -> np.ndarray:
    """``(H, W) uint8``: 255 at fixated pixels (repeated hits stay 255), else 0."""
    m = np.zeros(hw, np.uint8)
    m[points.row, points.col] = 255
    return m


def scale_to_255(d: np.ndarray) -> np.ndarray:
    """Non-negative float map -> ``uint8`` with max 255 (zeros stay zeros)."""
    d = np.maximum(np.asarray(d, np.float64), 0.0)
    top = d.max() if d.size else 0.0
    if top <= 0:
        return np.zeros(d.shape, np.uint8)
    return np.floor(d / top * 255.0 + 0.5).astype(np.uint8)


def density_fc8(binary: np.ndarray, fc: float = 8.0) -> np.ndarray:
    """MIT fc = 8 Fourier Gaussian blur of a point map (docs/metrics.md §A.6) -> uint8, max 255."""
    h, w = binary.shape
    n = 1 << int(np.ceil(np.log2(max(h, w, 1))))
    padded = np.zeros((n, n), np.float64)
    padded[:h, :w] = binary > 0
    s = fc / np.sqrt(np.log(2.0))
    fy = np.fft.fftfreq(n) * n  # cycles per n
    fx = np.fft.rfftfreq(n) * n
    gain = np.exp(-(fy[:, None] ** 2 + fx[None, :] ** 2) / s**2)
    blurred = scipy.fft.irfft2(scipy.fft.rfft2(padded) * gain, s=(n, n))[:h, :w]
    blurred[np.abs(blurred) < 1e-12 * max(1.0, float(np.abs(blurred).max()))] = 0.0
    return scale_to_255(blurred)


def sigma_fc8(n: int, fc: float = 8.0) -> float:
    """Spatial sigma (pixels) of the fc Fourier Gaussian on an n-point grid."""
    return n * np.sqrt(np.log(2.0) / (2 * np.pi**2)) / fc


def density_sigma(binary: np.ndarray, sigma: float = 19.0) -> np.ndarray:
    """SALICON-API blur: ``gaussian_filter(sigma)`` then min-max -> uint8 (max 255)."""
    d = ndimage.gaussian_filter((binary > 0).astype(np.float64), sigma)
    lo, hi = d.min(), d.max()
    if hi <= lo:
        return np.zeros(binary.shape, np.uint8)
    return np.floor((d - lo) / (hi - lo) * 255.0 + 0.5).astype(np.uint8)


def official_map(gray: np.ndarray) -> np.ndarray:
    """A distributed density map (grey uint8) rescaled so its max is 255."""
    return scale_to_255(gray.astype(np.float64))


@dataclass
class FixationTable:
    """Accumulates one split's fixations; :meth:`to_bytes` gives ``fixations.npz``."""

    per_id: dict = field(default_factory=dict)

    def add(self, image_id: str, points: Points, hw: tuple[int, int]) -> None:
        self.per_id[image_id] = (points, hw)

    def arrays(self, ids: list[str]) -> dict:
        """Keys (docs/datasets.md §10): ids, image_index, x, y, subject, height, width."""
        parts = [self.per_id[i][0] for i in ids]
        cat = lambda name, dt: (np.concatenate([getattr(p, name) for p in parts]).astype(dt)
                                if parts else np.zeros(0, dt))
        return {
            "ids": np.array(ids, dtype=str) if ids else np.zeros(0, dtype="<U1"),
            "image_index": np.repeat(np.arange(len(ids), dtype=np.int64),
                                     [len(p.x) for p in parts]).astype(np.int64),
            "x": cat("x", np.float64),
            "y": cat("y", np.float64),
            "subject": cat("subject", np.int64),
            "height": np.array([self.per_id[i][1][0] for i in ids], np.int64),
            "width": np.array([self.per_id[i][1][1] for i in ids], np.int64),
        }

    def to_bytes(self, ids: list[str]) -> bytes:
        return npz_bytes(self.arrays(ids))


def npz_bytes(arrays: dict) -> bytes:
    """An uncompressed ``.npz`` with fixed member timestamps, so equal arrays give equal
    bytes (``np.savez`` stamps the current time, which would defeat verify-and-skip)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, member.getvalue())
    return buf.getvalue()
