"""Reading a folder of precomputed maps (`evaluate --pred-dir`), any method's.

Maps are grey images named by image id: `DIR/<dataset>/<id>.png` (any of
`MAP_EXTENSIONS`), or `DIR/<id>.png` when one dataset is scored.
"""

import os

from asnet_keras.evaluation.pred_dir_checks import MAP_EXTENSIONS  # noqa: F401
from asnet_keras.io import DEFAULT_MAX_PIXELS, ImageReadError, read_file, to_8bit
from asnet_keras.metrics import to_uint8

PRED_DIR_KEY = "maps"  # the single key of --pred-dir results, in both sections
PRED_DIR_UPSAMPLING = (
    "none: maps scored as read; a map whose size differs from the ground truth is "
    "resized by the metrics (MATLAB imresize for fixation maps, bilinear for salient-object maps)"
)


def read_map(path, max_pixels=DEFAULT_MAX_PIXELS):
    """A saved prediction as uint8 (H, W): grey as is, colour by its first (R) channel,
    alpha ignored, 16-bit scaled to 8 bits (docs/metrics.md §B.0 step 1). Read by
    `asnet_keras.io.read_file` (header and pixel limit first, truncated JPEG/PNG refused;
    docs/data_integrity.md §7)."""
    try:
        array, _ = read_file(path, max_pixels)
    except ImageReadError as err:
        raise ImageReadError(f"{os.fspath(path)}: cannot read this map ({err.reason})",
                             err.reason) from None
    if array.ndim == 3:
        array = array[:, :, 2] if array.shape[2] >= 3 else array[:, :, 0]
    return to_uint8(to_8bit(array))


def pred_folder(pred_dir, dataset, n_datasets):
    """The folder holding `dataset`'s maps: DIR/<dataset>, or DIR itself for one dataset."""
    sub = os.path.join(pred_dir, dataset)
    if os.path.isdir(sub):
        return sub
    if n_datasets == 1:
        return pred_dir
    raise FileNotFoundError(
        f"--pred-dir {pred_dir}: no subfolder '{dataset}'. With several datasets, put "
        f"each dataset's maps in {pred_dir}/<dataset>/<id>.png."
    )
