"""What a conversion did: repairs (counted, with file names), rejects, summary table.

Every problem with the input ends in exactly one of two places:

* ``repair(kind, name)``: fixed in the documented way and counted; names are kept so
  ``meta.json`` says which files were touched.
* ``reject(split, name, reason)``: the sample is left out; the name and reason are
  printed, stored in ``meta.json``, and make the command exit non-zero unless
  ``--allow-rejects`` is given.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

REPAIR_TEXT = {
    "gray_to_rgb": "grey-scale image converted to RGB",
    "alpha_dropped": "alpha channel dropped",
    "palette_expanded": "palette image expanded to RGB",
    "16bit_to_8bit": "16-bit image scaled to 8 bits",
    "cmyk_to_rgb": "CMYK JPEG converted to RGB",
    "png_to_jpeg": "PNG image re-encoded as JPEG",
    "progressive_jpeg": "non-baseline JPEG re-encoded",
    "other_format": "non-JPEG/PNG image re-encoded as JPEG",
    "color_to_gray": "colour label image read as luma",
    "palette_indices": "palette mask binarised by palette index (index != 0)",
    "mask_not_binary": "mask values not all 0/255, binarised at >= 128",
    "mask_resized": "mask size differed from the image, resized (nearest)",
    "fixations_dropped": "fixations outside the image dropped",
    "fixations_clipped": "fixations just outside the image clipped to the border",
    "no_fixations": "image without any in-frame fixation (empty point map)",
    "no_size_row": "DUT-OMRON fixation file without its [W, H, 0] size row",
    "duts_mask_from_jpg": "DUTS-TR copy from before 2018-01-22: the .jpg mask beside a broken "
                          ".png used instead (docs/datasets_downloads.md §3)",
    "duts_defect_removed": "DUTS copy from before 2018-01-22: file the authors' correction "
                           "deletes, left out (docs/datasets_downloads.md §3)",
    "dut_omron_removed_image": "DUT-OMRON copy from before 2018-01-22: image the authors "
                               "removed (no pixel-wise mask), left out "
                               "(docs/datasets_downloads.md §4)",
}

#: How each density convention is named in the summary table's "fixmap source" column.
DENSITY_LABEL = {"official": "official", "fc8": "computed fc=8", "sigma19": "computed sigma=19",
                 None: "-"}


@dataclass
class Report:
    """Per-dataset record of repairs, rejects, ignored files and per-split counts."""

    dataset: str
    quiet: bool = False
    repairs: dict = field(default_factory=lambda: defaultdict(set))
    rejects: list = field(default_factory=list)
    ignored: set = field(default_factory=set)
    warnings: list = field(default_factory=list)
    points: Counter = field(default_factory=Counter)
    splits: dict = field(default_factory=dict)
    io: Counter = field(default_factory=Counter)
    fatal: str | None = None
    #: how source files are named in messages and meta.json (set by the runner to
    #: :meth:`data_prep.archives.Source.display`: relative to --src, or "archive:member")
    namer: Callable[[Path], str] | None = None
    #: landscape images: [points with x >= H, points with y >= H] (order sanity check)
    order_check: list = field(default_factory=lambda: [0, 0])
    #: per split, where its density maps come from (the summary table's last column)
    fixmap_source: dict = field(default_factory=dict)
    #: splits whose official density maps were expected but absent, so computed
    #: (SALICON 2017 without maps.zip): the command exits 1 unless --allow-computed-maps
    computed_maps: list = field(default_factory=list)

    def check_order(self) -> None:
        """Warn if the "x" column never exceeds the height of a landscape image while the
        "y" column does: the columns are probably swapped (docs/datasets.md §0)."""
        if self.order_check[1] > 0 and self.order_check[0] == 0:
            self.warn(f"fixation columns look swapped: on landscape images no x exceeds the "
                      f"image height but {self.order_check[1]} y values do")

    def name(self, path: Path) -> str:
        """Display name of a source file (default: its last two folders and its name)."""
        return self.namer(Path(path)) if self.namer else "/".join(Path(path).parts[-3:])

    def repair(self, kind: str, name: str) -> None:
        self.repairs[kind].add(name)

    def reject(self, split: str, name: str, reason: str) -> None:
        self.rejects.append({"split": split, "file": name, "reason": reason})
        if not self.quiet:
            tqdm.write(f"[{self.dataset}] REJECTED {name}: {reason}", file=sys.stderr)

    def ignore(self, name: str) -> None:
        self.ignored.add(name)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        if not self.quiet:
            tqdm.write(f"[{self.dataset}] warning: {text}", file=sys.stderr)

    def meta(self) -> dict:
        """The deterministic part that goes into ``meta.json``."""
        return {
            "repairs": {k: {"count": len(v), "what": REPAIR_TEXT.get(k, k), "files": sorted(v)}
                        for k, v in sorted(self.repairs.items())},
            "rejected": sorted(self.rejects, key=lambda r: (r["split"], r["file"], r["reason"])),
            "ignored_files": sorted(self.ignored),
            "fixation_points": dict(sorted(self.points.items())),
            "warnings": list(self.warnings),
        }

    def rows(self) -> list[tuple]:
        """Summary rows: (dataset, split, images, masks, fixation maps, rejected,
        fixmap source)."""
        out = []
        for split, c in self.splits.items():
            rej = sum(1 for r in self.rejects if r["split"] == split)
            out.append((self.dataset, split, c["images"], c["masks"], c["fixmaps"], rej,
                        self.fixmap_source.get(split, "-")))
        for split in sorted({r["split"] for r in self.rejects} - set(self.splits)):
            rej = sum(1 for r in self.rejects if r["split"] == split)
            out.append((self.dataset, split, 0, 0, 0, rej, "-"))
        return out


def summary_table(reports: list[Report]) -> str:
    """Plain-text table over all datasets of a run."""
    head = ("dataset", "split", "images", "masks", "fixation maps", "rejected", "fixmap source")
    rows = [head] + [tuple(str(v) for v in r) for rep in reports for r in rep.rows()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    def fmt(r):  # text columns left-aligned, numbers right-aligned
        cells = (v.ljust(w) if i < 2 or i == 6 else v.rjust(w)
                 for i, (v, w) in enumerate(zip(r, widths)))
        return "  ".join(cells).rstrip()

    lines = [fmt(rows[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows[1:]]
    return "\n".join(lines)


def review(reports: list[Report], allow_rejects: bool = False,
           allow_computed_maps: bool = False) -> tuple[list[tuple[bool, str]], bool]:
    """What a run's reports mean for its caller (`asnet prepare`, `asnet reproduce`).

    Returns ``(lines, failed)``: ``lines`` are ``(is_problem, text)`` in order, problems
    for stderr, the rest (repairs, files written) for stdout; ``failed`` is True when a
    dataset could not be prepared, files were rejected (unless ``allow_rejects``) or
    SALICON 2017's density maps had to be computed (unless ``allow_computed_maps``).
    """
    lines, failed = [], False
    for rep in reports:
        if rep.fatal:
            lines.append((True, f"\n[{rep.dataset}] NOT PREPARED: {rep.fatal}"))
            failed = True
        if rep.rejects:
            lines.append((True, f"\n[{rep.dataset}] {len(rep.rejects)} rejected:"))
            lines += [(True, f"  {r['split']}: {r['file']}: {r['reason']}") for r in rep.rejects]
            failed = failed or not allow_rejects
        if rep.computed_maps:
            lines.append((True, (
                f"\n[{rep.dataset}] official density maps not found for "
                f"{', '.join(rep.computed_maps)}: maps.zip is absent, so the maps were computed "
                "(Gaussian sigma = 19 px), which changes the fixation targets. Put maps.zip "
                "beside the other archives and re-run"
                + (" (accepted: --allow-computed-maps)" if allow_computed_maps
                   else ", or re-run with --allow-computed-maps to accept the computed maps"))))
            failed = failed or not allow_computed_maps
        lines += [(False, f"[{rep.dataset}] repaired {len(names)}: {kind}")
                  for kind, names in sorted(rep.repairs.items())]
        if rep.io:
            lines.append((False, f"[{rep.dataset}] files written {rep.io['written']}, "
                                 f"verified unchanged {rep.io['verified']}"))
    if any(rep.rejects for rep in reports) and not allow_rejects:
        lines.append((True, "\nsome inputs were rejected (see above and meta.json); "
                            "re-run with --allow-rejects to accept the result"))
    return lines, failed
