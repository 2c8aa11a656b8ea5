"""The centre-bias baseline: an image-sized Gaussian, the classic map a saliency model
must beat (docs/reproduce.md §1). Its maps are scored like any method's, through
`evaluate --pred-dir` (`asnet_keras.evaluation.api.evaluate_pred_dir`)."""

import os

import cv2
import numpy as np

from asnet_keras.data.layout import samples
from asnet_keras.io import probe_file

CENTRE_BIAS_SIGMA = 0.25  # of each side: the Gaussian of the centre-bias baseline
DESCRIPTION = f"centre bias: Gaussian, sigma = {CENTRE_BIAS_SIGMA} x each image side"


def centre_bias_map(height, width, sigma=CENTRE_BIAS_SIGMA):
    """uint8 (H, W) Gaussian centred on the image, σ = `sigma` × each side, peak 255."""
    y = (np.arange(height) - (height - 1) / 2) / (sigma * height)
    x = (np.arange(width) - (width - 1) / 2) / (sigma * width)
    gauss = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return np.rint(255 * gauss / gauss.max()).astype(np.uint8)


def write_centre_bias(data, datasets, folder, split="test"):
    """Write the centre-bias map of every image of `split` of each dataset to
    `folder/<dataset>/<id>.png` (the `--pred-dir` layout); returns `folder`."""
    for dataset in datasets:
        target = os.path.join(folder, dataset)
        os.makedirs(target, exist_ok=True)
        for sample in samples(data, dataset, split):
            with open(sample.image, "rb") as f:  # the header alone gives the size
                header = probe_file(f)
            height, width = header.height, header.width
            cv2.imwrite(os.path.join(target, sample.id + ".png"), centre_bias_map(height, width))
    return folder
