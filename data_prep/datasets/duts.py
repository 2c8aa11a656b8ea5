"""DUTS (DATASETS.md §8): ``DUTS-TR/DUTS-TR-{Image,Mask}/`` -> ``train`` and
``DUTS-TE/DUTS-TE-{Image,Mask}/`` -> ``test``; ``.jpg`` images, ``.png`` masks."""

from ..archives import LayoutError
from ..common import by_stem, files_in, pair
from ..prepared import write_split

NAME = "duts"
ALIASES = ("duts",)
DENSITY = None
DOWNLOAD = ("DUTS-TR.zip and DUTS-TE.zip from saliencydetection.net/duts/download/")


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
        write_split(root, NAME, split, pair(images, masks), {"mask"}, None, report,
                    workers=options.get("workers"))
        found += 1
    if not found:
        raise LayoutError(f"{src.src}: neither DUTS-TR/DUTS-TR-Image nor DUTS-TE/DUTS-TE-Image "
                          "found")
    return {}
