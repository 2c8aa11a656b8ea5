"""Helpers shared by the dataset converters: pairing files by stem, reading .mat files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from .archives import is_junk
from .io import BadInput
from .prepared import Sample
from .report import Report


def by_stem(files: list[Path], report: Report | None = None) -> dict[str, Path]:
    """``{stem: path}``; a second file with the same stem is recorded as ignored."""
    out: dict[str, Path] = {}
    for p in sorted(files, key=lambda p: p.name):
        if p.stem in out:
            if report is not None:
                report.ignore(report.name(p))
            continue
        out[p.stem] = p
    return out


def files_in(folder: Path, exts: tuple[str, ...], report: Report | None = None,
             note_others: bool = True) -> list[Path]:
    """Files in ``folder`` whose lower-case suffix is in ``exts``; other non-junk files
    are recorded as ignored (they are not part of the documented layout)."""
    keep = []
    for p in sorted(Path(folder).iterdir(), key=lambda p: p.name):
        if not p.is_file() or is_junk(p.name):
            continue
        if p.suffix.lower() in exts:
            keep.append(p)
        elif report is not None and note_others:
            report.ignore(report.name(p))
    return keep


def stems_in(src, *rel: str, ext: str, report: Report, exts: tuple | None = None) -> dict:
    """``{stem: path}`` of the ``ext`` files in the folder ``rel`` of ``src`` (found as
    :meth:`data_prep.archives.Source.find_dir` does, holding at least one such file)."""
    folder = src.find_dir(*rel, having=f"*{ext}")
    return by_stem(files_in(folder, exts or (ext,), report), report)


def pair(images: dict[str, Path], masks: dict[str, Path] | None = None,
         points: dict | None = None) -> list[Sample]:
    """One :class:`Sample` per stem seen in any of the inputs. A stem with annotations
    but no image gets ``image=None`` (rejected later, named by its annotation); a missing
    annotation stays ``None`` (rejected as "image without its mask/fixations")."""
    stems = set(images) | set(masks or {}) | set(points or {})
    out = []
    for stem in sorted(stems):
        out.append(Sample(id=stem, image=images.get(stem), mask=(masks or {}).get(stem),
                          points=(points or {}).get(stem)))
    return out


def loadmat_v5(path: Path, variables: list[str] | None = None) -> dict:
    """``scipy.io.loadmat`` with errors turned into :class:`BadInput`."""
    try:
        return scipy.io.loadmat(str(path), variable_names=variables)
    except NotImplementedError as e:  # v7.3 given to scipy
        raise BadInput("MAT-file v7.3 (HDF5) where v5 was expected") from e
    except Exception as e:  # scipy raises ValueError, TypeError, OSError…
        raise BadInput(f"unreadable .mat file ({e})") from e


def mat_strings(value) -> list[str]:
    """A MATLAB char matrix or cell array of strings (as scipy returns it) -> list of
    stripped Python strings."""
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        if arr.ndim == 0:
            return [str(arr).strip()]
        return [str(v).strip() for v in arr.ravel() if str(v).strip()]
    if arr.dtype == object:
        out = []
        for v in arr.ravel():
            out += mat_strings(v)
        return out
    raise BadInput(f"expected strings, found a {arr.dtype} array")
