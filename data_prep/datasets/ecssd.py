"""ECSSD (docs/datasets.md §6): ``images/*.jpg`` and ``ground_truth_mask/*.png`` (same stems,
e.g. ``0001``), from ``images.zip`` and ``ground_truth_mask.zip``. All go to ``test``."""

from ..common import pair, stems_in
from ..prepared import write_split

NAME = "ecssd"
ALIASES = ("ecssd",)
DENSITY = None
DOWNLOAD = ("images.zip and ground_truth_mask.zip (masks of 9 April 2015) from the ECSSD page "
            "of the CUHK hierarchical saliency project (cse.cuhk.edu.hk/leojia/projects/"
            "hsaliency/dataset.html)")


def convert(src, root, report, options):
    images = stems_in(src, "images", ext=".jpg", report=report)
    masks = stems_in(src, "ground_truth_mask", ext=".png", report=report)
    write_split(root, NAME, "test", pair(images, masks), {"mask"}, None, report,
                workers=options.get("workers"))
    return {}
