"""DUTS (docs/datasets.md §8): ``DUTS-TR/DUTS-TR-{Image,Mask}/`` -> ``train`` and
``DUTS-TE/DUTS-TE-{Image,Mask}/`` -> ``test``; ``.jpg`` images, ``.png`` masks.

Copies downloaded before 2018-01-22 carry defects the authors corrected that day
(docs/datasets_downloads.md §3); they are recognised by file name and repaired as the
authors' notice says, each counted in ``meta.json`` under ``repairs``:

* DUTS-TR-Mask holds, for :data:`TR_JPG_MASKS`, a broken ``<stem>.png`` and the right
  mask as ``<stem>.jpg``: the ``.jpg`` is used (``duts_mask_from_jpg``) and the ``.png``
  left out (``duts_defect_removed``).
* DUTS-TE: the notice deletes :data:`TE_DELETED` (``<stem>.jpg``); in the old copies
  their image and mask differ in size. When that is so, the pair is left out
  (``duts_defect_removed``) instead of the mask being stretched; a corrected copy
  (same sizes) is kept as it is.
"""

from pathlib import Path

from asnet_keras.io import ImageError, probe_file

from ..archives import LayoutError
from ..common import by_stem, files_in, pair
from ..prepared import write_split

NAME = "duts"
ALIASES = ("duts",)
DENSITY = None
DOWNLOAD = ("DUTS-TR.zip and DUTS-TE.zip from saliencydetection.net/duts/download/")

#: DUTS-TR stems whose mask is a .jpg beside a broken .png in pre-2018-01-22 copies.
TR_JPG_MASKS = ("ILSVRC2014_train_00023530", "n01532829_13482", "n04442312_17818")
#: DUTS-TE files the 2018-01-22 notice deletes (image/mask sizes differ in old copies).
TE_DELETED = ("ILSVRC2012_test_00036002", "sun_bcogaqperiljqupq")


def _size(path: Path):
    """(H, W) of an image file from its header, or None if the header cannot be read
    (left to the normal checks, which reject the file by name)."""
    try:
        with open(path, "rb") as f:
            header = probe_file(f)
    except (OSError, ImageError):
        return None
    return header.height, header.width


def _repair_tr(mask_dir: Path, masks: dict, report) -> None:
    for stem in TR_JPG_MASKS:
        jpg = next((p for p in mask_dir.glob(f"{stem}.*") if p.suffix.lower() == ".jpg"), None)
        if jpg is None:
            continue  # a corrected copy: only the .png, used as usual
        broken = masks.get(stem)
        if broken is not None:
            report.repair("duts_defect_removed", report.name(broken))
        masks[stem] = jpg
        report.repair("duts_mask_from_jpg", report.name(jpg))
        report.ignored.discard(report.name(jpg))  # it is used, not ignored


def _repair_te(images: dict, masks: dict, report) -> None:
    for stem in TE_DELETED:
        img, mask = images.get(stem), masks.get(stem)
        if img is None or mask is None:
            continue
        hi, hm = _size(img), _size(mask)
        if hi is None or hm is None or hi == hm:
            continue  # unreadable (rejected later by name) or a corrected copy
        for p in (img, mask):
            report.repair("duts_defect_removed", report.name(p))
        del images[stem], masks[stem]


def convert(src, root, report, options):
    found = 0
    for tag, split in (("TR", "train"), ("TE", "test")):
        img_dir = src.find_dir(f"DUTS-{tag}-Image", having="*.jpg", required=False)
        if img_dir is None:
            report.warn(f"DUTS-{tag} not found under {src.src} (no DUTS-{tag}-Image folder); "
                        f"split '{split}' skipped")
            continue
        mask_dir = src.find_dir(f"DUTS-{tag}-Mask", having="*.png")
        images = by_stem(files_in(img_dir, (".jpg",), report), report)
        masks = by_stem(files_in(mask_dir, (".png",), report), report)
        if tag == "TR":
            _repair_tr(mask_dir, masks, report)
        else:
            _repair_te(images, masks, report)
        write_split(root, NAME, split, pair(images, masks), {"mask"}, None, report,
                    workers=options.get("workers"))
        found += 1
    if not found:
        raise LayoutError(f"{src.src}: neither DUTS-TR/DUTS-TR-Image nor DUTS-TE/DUTS-TE-Image "
                          "found")
    return {}
