"""Writing one split of the canonical prepared layout (docs/datasets.md §10).

Dataset modules describe each image as a :class:`Sample`; :func:`write_split` turns the
samples into ``images/``, ``masks/``, ``fixpts/``, ``fixmaps/``, ``list.txt`` and
``fixations.npz``, and :func:`write_meta` writes ``meta.json``. All outputs are built in
memory and written with :func:`asnet_keras.io.atomic_files.write_if_changed`, which skips
files that already hold the right bytes: a re-run verifies instead of rewriting, and a run that
was interrupted and re-run leaves exactly the files of one clean run (outputs are
deterministic, leftovers of the interrupted run are removed).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from asnet_keras.io.atomic_files import remove_stale_temporaries, write_if_changed
from asnet_keras.names import (FIXATIONS_FILE, FIXMAP_FOLDER, FIXPTS_FOLDER, IMAGE_FOLDER,
                               LIST_FILE, MASK_FOLDER, META_FILE, SUFFIXES)

from . import LAYOUT_VERSION, __version__
from .fixations import (FC8, FixationTable, density_fc8, density_sigma, official_map,
                        point_map, points_from_map, to_points)
from .io import BadInput, decode_gray, encode_jpeg, encode_png, image_bytes, mask_bytes
from .report import DENSITY_LABEL, Report

#: Density conventions recorded in meta.json (docs/datasets.md §0 (b)).
DENSITY = {
    "fc8": FC8,
    "sigma19": {"name": "salicon-sigma19", "sigma_px": 19,
                "description": "scipy.ndimage.gaussian_filter(sigma=19 px) of the point map, "
                               "min-max normalised, scaled to max 255 (SALICON API)"},
    "official": {"name": "official",
                 "description": "the dataset's own distributed fixation maps, re-encoded "
                                "as PNG and scaled so the maximum is 255"},
}


@dataclass
class RawPoints:
    """Fixations as a source file gives them: coordinate arrays, their base (0 or 1),
    per-point subject ids (or one int), and the image size the file states, if any."""

    x: np.ndarray
    y: np.ndarray
    subject: np.ndarray | int = -1
    base: int = 1
    size_hw: tuple | None = None
    clip_margin: float = 0.0
    notes: tuple = ()  # repairs the reader already made (e.g. "no_size_row")
    source: str | None = None  # name of the annotation in reports, if not a file


@dataclass
class Sample:
    """One image of a split and where its labels come from.

    image/mask/fixmap: a source file (Path) or, for the synthetic set, an array
    (image ``(H, W, 3)`` BGR uint8, mask/fixmap ``(H, W)`` uint8). ``points`` is a
    :class:`RawPoints` or a callable returning one (read lazily, errors -> reject).
    ``fixpts`` is a point-map image (MIT1003 ``_fixPts.jpg``, thresholded > 127).
    ``problem`` is a reason found while pairing files (the sample is rejected).
    """

    id: str
    image: Path | np.ndarray | None
    mask: Path | np.ndarray | None = None
    points: RawPoints | Callable[[], RawPoints] | None = None
    fixpts: Path | None = None
    fixmap: Path | np.ndarray | None = None
    problem: str | None = None
    name: str | None = None  # display name for reports (defaults to the image path)


def sample_name(s: Sample, namer: Callable[[Path], str]) -> str:
    """How a sample is named when rejected: ``s.name``, else its first source file
    (image, mask, point map, density map, fixation file), else the fixations' source."""
    if s.name:
        return s.name
    for x in (s.image, s.mask, s.fixpts, s.fixmap, getattr(s.points, "path", None)):
        if isinstance(x, Path):
            return namer(x)
    return getattr(s.points, "source", None) or s.id


def _sizecheck(arr_hw, hw, what):
    if tuple(arr_hw) != tuple(hw):
        raise BadInput(f"{what} is {arr_hw[0]}x{arr_hw[1]} but the image is {hw[0]}x{hw[1]} (HxW)")


@dataclass
class Built:
    """One sample, decoded and normalised: ``outputs`` {subfolder: file bytes}, the
    in-frame ``points`` (or None), the image size ``hw``, ``repairs`` [(kind, file)],
    and ``order`` = (#x >= H, #y >= H) on landscape images (column-order check)."""

    outputs: dict
    points: object
    hw: tuple
    repairs: list
    order: tuple = (0, 0)


def _fixations(s: Sample, hw, built: Built, name: str) -> np.ndarray:
    """Fill ``built.points``; return the binary point map ``(H, W) uint8`` {0, 255}."""
    if s.fixpts is not None:  # MIT1003: a JPEG point map, threshold > 127
        gray, _ = decode_gray(Path(s.fixpts).read_bytes())
        _sizecheck(gray.shape, hw, "fixation point map")
        binary = np.where(gray > 127, 255, 0).astype(np.uint8)
        built.points = points_from_map(binary)
        return binary
    raw = s.points() if callable(s.points) else s.points
    if raw.size_hw is not None:
        _sizecheck(raw.size_hw, hw, "the size stated in the fixation file")
    pts = to_points(raw.x, raw.y, raw.subject, raw.base, hw, raw.clip_margin)
    built.points = pts
    built.repairs += [(n, name) for n in raw.notes]
    if pts.dropped:
        built.repairs.append(("fixations_dropped", name))
    if pts.clipped:
        built.repairs.append(("fixations_clipped", name))
    if hw[1] > hw[0]:  # column-order sanity check, docs/datasets.md §0
        built.order = (int(np.sum(np.asarray(raw.x, float) - raw.base >= hw[0])),
                       int(np.sum(np.asarray(raw.y, float) - raw.base >= hw[0])))
    return point_map(pts, hw)


def _density(s: Sample, binary: np.ndarray, density: str) -> np.ndarray:
    """The fixmap ``(H, W) uint8`` (max 255) by the dataset's convention (:data:`DENSITY`)."""
    if density == "official":
        if isinstance(s.fixmap, np.ndarray):
            gray = s.fixmap
        else:
            gray = decode_gray(Path(s.fixmap).read_bytes())[0]
        _sizecheck(gray.shape, binary.shape, "fixation density map")
        return official_map(gray)
    if density == "sigma19":
        return density_sigma(binary, 19.0)
    return density_fc8(binary)


def _build(s: Sample, labels: set, density: str, namer: Callable[[Path], str]) -> Built:
    """Decode and normalise one sample. Raises :class:`BadInput` whose ``.file`` is the
    name (by ``namer``) of the file that failed."""
    _display = lambda x, fallback: namer(x) if isinstance(x, Path) else fallback
    current = _display(s.image, s.id)
    try:
        if isinstance(s.image, np.ndarray):  # synthetic
            built = Built({IMAGE_FOLDER: encode_jpeg(s.image)}, None, s.image.shape[:2], [])
        else:
            data, hw, notes = image_bytes(Path(s.image).read_bytes())
            built = Built({IMAGE_FOLDER: data}, None, hw, [(n, current) for n in sorted(notes)])
        hw = tuple(int(v) for v in built.hw)
        built.hw = hw
        if "mask" in labels:
            current = _display(s.mask, s.id)
            if isinstance(s.mask, np.ndarray):  # synthetic: already 0/255
                _sizecheck(s.mask.shape, hw, "mask")
                mask = np.where(s.mask >= 128, 255, 0).astype(np.uint8)
                built.outputs[MASK_FOLDER] = encode_png(mask)
            else:
                built.outputs[MASK_FOLDER], notes = mask_bytes(Path(s.mask).read_bytes(), hw)
                built.repairs += [(n, current) for n in sorted(notes)]
        if "fix" in labels:
            current = _display(s.fixpts, "") or getattr(s.points, "source", None) or _display(
                getattr(s.points, "path", None), s.name or current)
            binary = _fixations(s, hw, built, current)
            if len(built.points.x) == 0:
                built.repairs.append(("no_fixations", current))
            built.outputs[FIXPTS_FOLDER] = encode_png(binary)
            if density == "official":
                current = _display(s.fixmap, s.id)
            built.outputs[FIXMAP_FOLDER] = encode_png(_density(s, binary, density))
    except BadInput as e:
        e.file = current
        raise
    except OSError as e:
        err = BadInput(f"cannot read ({e.strerror or e})")
        err.file = current
        raise err from e
    return built


def _precheck(s: Sample, labels: set) -> str | None:
    """Reason to reject a sample before reading any file, or None."""
    if s.problem:
        return s.problem
    if s.image is None:
        return "annotation without an image"
    if "mask" in labels and s.mask is None:
        return "image without its mask"
    if "fix" in labels and s.points is None and s.fixpts is None:
        return "image without its fixations"
    return None


def _built(samples: list[Sample], labels: set, density: str | None, workers: int, namer):
    """Yield ``(sample, result)`` in input order; result is a reject reason (str), a
    :class:`BadInput`, or a :class:`Built`. Decoding and encoding run on
    ``workers`` threads (OpenCV and numpy release the GIL), a bounded window at a time."""

    def one(s):
        reason = _precheck(s, labels)
        if reason:
            return reason
        try:
            return _build(s, labels, density, namer)
        except BadInput as e:
            return e

    if workers <= 1:
        for s in samples:
            yield s, one(s)
        return
    window = 8 * workers
    with ThreadPoolExecutor(workers) as pool:
        for i in range(0, len(samples), window):
            chunk = samples[i : i + window]
            yield from zip(chunk, pool.map(one, chunk))


def default_workers() -> int:
    """Threads for decoding/encoding: the CPU count, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def write_split(root: Path, dataset: str, split: str, samples: list[Sample], labels: set,
                density: str | None, report: Report, extra_lists: dict | None = None,
                workers: int | None = None) -> dict:
    """Prepare one split under ``root/dataset/split``; return its meta entry.

    ``labels`` is the set of labels every image of this split must have: ``"mask"``,
    ``"fix"`` (point map + density map + table). ``density`` is a key of
    :data:`DENSITY`. ``extra_lists`` maps file names (e.g. ``list_holdout.txt``) to ids; only
    ids that were prepared are written.
    Samples missing a required label, or whose files fail to decode, are rejected.
    ``workers``: decoding threads (default :func:`default_workers`); the output does
    not depend on it.
    """
    workers = default_workers() if workers is None else workers
    base = Path(root) / dataset / split
    for sub in SUFFIXES:
        remove_stale_temporaries(base / sub)
    remove_stale_temporaries(base)
    table = FixationTable()
    done: dict = {}
    digests: dict = {}
    n_points = 0
    ordered = sorted(samples, key=lambda s: s.id)
    for s, result in tqdm(_built(ordered, labels, density, workers, report.name),
                          total=len(samples), desc=f"{dataset}/{split}", unit="img",
                          disable=report.quiet):
        name = sample_name(s, report.name)
        if s.id in done and not isinstance(result, str):
            result = f"duplicate id '{s.id}' (already taken by {done[s.id]})"
        if isinstance(result, str):
            report.reject(split, name, result)
            continue
        if isinstance(result, BadInput):
            report.reject(split, getattr(result, "file", name), str(result))
            continue
        for kind, fname in result.repairs:
            report.repair(kind, fname)
        points = result.points
        if points is not None:
            table.add(s.id, points, result.hw)
            report.points["kept"] += len(points.x)
            report.points["dropped_outside"] += points.dropped
            report.points["clipped"] += points.clipped
            report.order_check[0] += result.order[0]
            report.order_check[1] += result.order[1]
            n_points += len(points.x)
        for sub, data in result.outputs.items():
            rel = f"{sub}/{s.id}{SUFFIXES[sub]}"
            report.io["written" if write_if_changed(base / rel, data) else "verified"] += 1
            digests[rel] = hashlib.md5(data).hexdigest()
        done[s.id] = name
    ids = sorted(done)
    _remove_stale(base, set(digests))
    files = {LIST_FILE: ("".join(i + "\n" for i in ids)).encode()}
    for fname, lst in (extra_lists or {}).items():
        files[fname] = ("".join(i + "\n" for i in sorted(set(lst) & set(ids))).encode())
    if "fix" in labels:
        files[FIXATIONS_FILE] = table.to_bytes(ids)
    elif (base / FIXATIONS_FILE).exists():
        (base / FIXATIONS_FILE).unlink()
    for fname, data in files.items():
        write_if_changed(base / fname, data)
        digests[fname] = hashlib.md5(data).hexdigest()
    def count(sub):
        return sum(1 for k in digests if k.startswith(sub + "/"))

    md5 = {k: digests[k] for k in (LIST_FILE, FIXATIONS_FILE) if k in digests}
    # one checksum over every file of the split: md5 of the sorted "path md5" lines
    md5["all_files"] = hashlib.md5("".join(f"{k} {v}\n" for k, v in sorted(digests.items()))
                                   .encode()).hexdigest()
    entry = {**{sub: count(sub) for sub in SUFFIXES}, "fixations": n_points,
             "rejected": sum(1 for r in report.rejects if r["split"] == split),
             "labels": sorted(labels), "lists": sorted(files), "md5": md5}
    report.splits[split] = entry
    report.fixmap_source[split] = DENSITY_LABEL.get(density if "fix" in labels else None, density)
    return entry


def _remove_stale(base: Path, keep: set) -> None:
    """Delete prepared files of this split that the current run did not produce."""
    for sub in SUFFIXES:
        d = base / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.is_file() and f"{sub}/{p.name}" not in keep:
                p.unlink()
        if not any(d.iterdir()):
            d.rmdir()


def write_meta(root: Path, dataset: str, report: Report, source: dict, density: str | None,
               extra: dict | None = None) -> dict:
    """Write ``root/dataset/meta.json`` (deterministic: no timestamps, sorted lists)."""
    meta = {
        "dataset": dataset,
        "layout_version": LAYOUT_VERSION,
        "data_prep_version": __version__,
        "source": source,
        "density": DENSITY.get(density) if density else None,
        "splits": report.splits,
        **(extra or {}),
        **report.meta(),
    }
    data = (json.dumps(meta, indent=1, ensure_ascii=False) + "\n").encode()
    write_if_changed(Path(root) / dataset / META_FILE, data)
    return meta
