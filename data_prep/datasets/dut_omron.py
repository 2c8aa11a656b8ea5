"""DUT-OMRON (docs/datasets.md §3): ``DUT-OMRON-image/*.jpg``, masks
``pixelwiseGT-new-PNG/*.png``, fixations ``DUT-OMRON-eye-fixations/mat/<stem>.mat``.

Each ``.mat`` (v5) holds ``s``, N x 3 ``[x, y, subject]``, **0-based**; the row with
subject 0 is the image size ``[W, H]`` and is checked against the image (mismatch ->
rejected). Points at most 1 px outside are clipped to the border ("clip to the image
anyway"), farther ones dropped; both counted. All 5,168 images go to ``train`` with
both labels; density: fc = 8 Fourier Gaussian (computed, none is distributed).

Copies downloaded before 2018-01-22 hold four more images (:data:`REMOVED_2018`) that
the authors removed that day for lack of a pixel-wise mask (docs/datasets_downloads.md
§4): when one of them has no mask it is left out with its fixation file and counted in
``meta.json`` repairs (``dut_omron_removed_image``) instead of being rejected."""

import numpy as np

from ..common import loadmat_v5, pair, stems_in
from ..io import BadInput
from ..prepared import RawPoints, write_split

NAME = "dut-omron"
ALIASES = ("dut-omron", "dut_omron", "dutomron")
DENSITY = 'fc8'
KNOWN_MD5 = {"DUT-OMRON-image.zip": "a8951db9297afacf78bc0e5079103cf1",
             "DUT-OMRON-eye-fixations.zip": "d9f4f83fcc78b1e5efb579ae9fb0edc2"}
#: Images removed from DUT-OMRON on 2018-01-22 (no pixel-wise ground truth).
REMOVED_2018 = ("img_561715398", "sun_bqfgwnmzhjwuphdi", "sun_bswlalhygmnrhvuw",
                "sun_buaqzytduodbufcb")
DOWNLOAD = ("DUT-OMRON-image.zip, DUT-OMRON-gt-pixelwise.zip.zip and "
            "DUT-OMRON-eye-fixations.zip from saliencydetection.net/dut-omron/download/ "
            "(the bounding-box archive is not needed)")


class _Reader:
    """Lazy reader of one fixation file (called inside the progress loop)."""

    def __init__(self, path):
        self.path = path

    def __call__(self) -> RawPoints:
        mat = loadmat_v5(self.path)
        if "s" not in mat:
            raise BadInput("no variable 's' (expected N x 3 [x, y, subject] with a [W, H, 0] row)")
        s = np.asarray(mat["s"], np.float64)
        if s.ndim != 2 or s.shape[1] != 3:
            raise BadInput(f"variable 's' is {s.shape}, expected N x 3 [x, y, subject]")
        size_rows = s[s[:, 2] == 0]
        pts = s[s[:, 2] != 0]
        notes, size = (), None
        if len(size_rows):
            size = (int(size_rows[0, 1]), int(size_rows[0, 0]))  # [W, H] -> (H, W)
        else:
            notes = ("no_size_row",)
        return RawPoints(pts[:, 0], pts[:, 1], pts[:, 2].astype(np.int64), base=0,
                         size_hw=size, clip_margin=1.0, notes=notes)


def convert(src, root, report, options):
    images = stems_in(src, "DUT-OMRON-image", ext=".jpg", report=report)
    masks = stems_in(src, "pixelwiseGT-new-PNG", ext=".png", report=report)
    mats = stems_in(src, "DUT-OMRON-eye-fixations", "mat", ext=".mat", report=report)
    for stem in REMOVED_2018:
        if stem in images and stem not in masks:
            for p in (images.pop(stem), mats.pop(stem, None)):
                if p is not None:
                    report.repair("dut_omron_removed_image", report.name(p))
    points = {stem: _Reader(p) for stem, p in mats.items()}
    write_split(root, NAME, "train", pair(images, masks, points), {"mask", "fix"}, "fc8", report,
                workers=options.get("workers"))
    return {"coordinates": "0-based [x, y, subject]; size row [W, H, 0] checked; clip margin 1 px"}
