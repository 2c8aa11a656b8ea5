"""THUS10K = MSRA10K (docs/datasets.md §2): ``MSRA10K_Imgs_GT/Imgs/`` holds ``<id>.jpg``
images and same-stem ``<id>.png`` binary masks in one folder. All go to ``train``."""

from ..archives import LayoutError
from ..common import by_stem, files_in, pair
from ..prepared import write_split

NAME = "thus10k"
ALIASES = ("thus10k", "msra10k", "msra10k_imgs_gt", "thus10000")
DENSITY = None
DOWNLOAD = ("MSRA10K_Imgs_GT.zip (~195 MB) from Ming-Ming Cheng's page "
            "(mmcheng.net, 'MSRA10K Salient Object Database')")
REPACKAGED = ("gt_masks", "saliency", "GT", "masks")


def convert(src, root, report, options):
    imgs = src.find_dir("Imgs", having="*.jpg", required=False)
    if imgs is None:
        alt = sorted({d.name for d in src.all_dirs() if d.name in REPACKAGED + ("images",)})
        raise LayoutError(
            f"{src.src}: expected the original layout MSRA10K_Imgs_GT/Imgs/ with <id>.jpg and "
            f"<id>.png side by side" + (f"; found a repackaged copy (folders {', '.join(alt)}), "
            "please use the original MSRA10K_Imgs_GT.zip" if alt else ""))
    files = files_in(imgs, (".jpg", ".png"), report)
    images = by_stem([p for p in files if p.suffix.lower() == ".jpg"], report)
    masks = by_stem([p for p in files if p.suffix.lower() == ".png"], report)
    write_split(root, NAME, "train", pair(images, masks), {"mask"}, None, report,
                workers=options.get("workers"))
    return {}
