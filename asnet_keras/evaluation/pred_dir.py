"""Reading a folder of precomputed maps (`evaluate --pred-dir`), any method's.

Maps are grey images named by image id: `DIR/<dataset>/<id>.png` (any of
`MAP_EXTENSIONS`), or `DIR/<id>.png` when one dataset is scored.
"""

import os

import cv2
import numpy as np

from asnet_keras.evaluation.pred_dir_checks import MAP_EXTENSIONS  # noqa: F401
from asnet_keras.inference.images import ImageReadError
from asnet_keras.metrics import to_uint8

PRED_DIR_KEY = "maps"  # the single key of --pred-dir results, in both sections
PRED_DIR_UPSAMPLING = (
    "none: maps scored as read; a map whose size differs from the ground truth is "
    "resized by the metrics (MATLAB imresize for fixation maps, bilinear for salient-object maps)"
)


def read_map(path):
    """A saved prediction as uint8 (H, W): grey as is, colour by its first (R) channel,
    alpha ignored, 16-bit scaled to 8 bits (docs/metrics.md §B.0 step 1)."""
    array = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageReadError(f"{path}: cannot read this map")
    if array.ndim == 3:
        array = array[:, :, 2] if array.shape[2] >= 3 else array[:, :, 0]
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return to_uint8(array)


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
