"""Running converters: one dataset (``prepare``) or every dataset found (``prepare_all``).

``prepare`` wraps a dataset module's ``convert`` with the source handling, the order
sanity check, ``meta.json`` and error capture: a layout or archive problem becomes
``report.fatal`` (the dataset is not prepared) instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from .archives import ArchiveError, LayoutError, Source, is_junk
from .datasets import MODULES
from .io import BadInput
from .prepared import write_meta
from .report import Report


def default_work(dst: Path, dataset: str) -> Path:
    """Where archives are extracted: ``<dst>/.extract/<dataset>`` (kept for re-runs)."""
    return Path(dst) / ".extract" / dataset


def prepare(dataset: str, src: Path, dst: Path, work: Path | None = None, quiet: bool = False,
            **options) -> Report:
    """Convert one raw dataset at ``src`` into ``dst/<dataset>/``; returns its Report."""
    module = MODULES[dataset]
    report = Report(dataset, quiet=quiet)
    try:
        source = Source(Path(src), Path(work) if work else default_work(dst, dataset),
                        exclude=(Path(dst),))
        report.namer = source.display
        info = module.convert(source, Path(dst), report, options) or {}
        report.check_order()
        density = info.pop("density_key", module.DENSITY)
        archives = sorted(({"name": a["name"], "md5": a["md5"]} for a in source.archives),
                          key=lambda a: a["name"])
        known = getattr(module, "KNOWN_MD5", {})
        for a in archives:
            if a["name"] in known:
                a["matches_published_md5"] = a["md5"] == known[a["name"]]
        source_meta = {"src_name": Path(src).name, "archives": archives}
        write_meta(dst, dataset, report, source_meta, density, info)
    except (LayoutError, ArchiveError, BadInput) as e:
        report.fatal = str(e)
    return report


def find_raw(raw_root: Path) -> dict[str, Path]:
    """``{dataset: path}`` for every dataset whose folder or archive sits directly in
    ``raw_root`` under one of its ``ALIASES`` (case-insensitive, archive suffix removed)."""
    found: dict[str, Path] = {}
    entries = sorted(os.scandir(raw_root), key=lambda e: e.name) if Path(raw_root).is_dir() else []
    for e in entries:
        if is_junk(e.name) or e.name.startswith("."):
            continue
        key = e.name.lower()
        for suffix in (".zip.zip", ".zip", ".rar"):
            if key.endswith(suffix):
                key = key[: -len(suffix)]
                break
        for name, module in MODULES.items():
            if key in module.ALIASES and name not in found:
                found[name] = Path(e.path)
    return found


def prepare_all(raw_root: Path, dst: Path, work: Path | None = None, quiet: bool = False,
                **options):
    """Prepare every dataset present under ``raw_root`` (extracting into
    ``work/<dataset>`` if given); returns (reports, names of the missing datasets)."""
    found = find_raw(Path(raw_root))
    reports = [prepare(name, path, dst, work=Path(work) / name if work else None, quiet=quiet,
                       **options) for name, path in found.items()]
    missing = [name for name in MODULES if name not in found]
    return reports, missing
