"""Scoring one dataset's maps as they stream in: every metric of its labels, per image.

`DatasetScorer.add(sample, maps)` takes one image's uint8 maps (at the image size) and
feeds the fixation evaluators (docs/metrics.md part A: AUC-Judd, sAUC, NSS, CC, SIM) and
the salient-object evaluators (part B, through PySODMetrics); `results()` gives the
results.json sections. Only per-image scalars are kept, so memory stays flat.
"""

import os

import cv2
import numpy as np

from asnet_keras.data.layout import load_fixations
from asnet_keras.inference.images import read_grey
from asnet_keras.metrics import FixationEvaluator, SalientObjectEvaluator, other_fixations_map

N_OTHER = 10  # sAUC: images pooled for the other-fixations map (docs/metrics.md §A.2)


class _OtherFixations:
    """sAUC other-fixations maps of one split, from its fixations.npz (docs/metrics.md §A.2).

    Image `j` of the table (its position in the npz `ids`) pools `N_OTHER` other images
    chosen with `np.random.default_rng([seed, j])`: the draw depends only on the seed and
    the image, not on which images are evaluated or in what order.
    """

    def __init__(self, table, seed):
        self.seed = int(seed)
        self.table = table
        if table is None:
            self.index = {}
            return
        self.index = {str(i): j for j, i in enumerate(table["ids"].tolist())}
        self.shapes = np.stack([table["height"], table["width"]], axis=1)

    def get(self, sample_id):
        """The boolean map of image `sample_id`, or None if the table lacks it."""
        j = self.index.get(sample_id)
        if j is None:
            return None
        t = self.table
        return other_fixations_map(
            j, t["image_index"], t["y"], t["x"], self.shapes, n_other=N_OTHER,
            seed=[self.seed, j],
        )


class DatasetScorer:
    """Streams one dataset's maps into the metric evaluators.

    Args:
        root, dataset, split: the prepared split.
        fixation_keys: map names scored with the fixation metrics (images with fixpts).
        sod_keys: map names scored with the SOD metrics (images with a mask).
        seed, jitter, n_splits: `FixationEvaluator` settings; `seed` also draws the
            sAUC other images.
        maps_dir: if set, every scored map is written to `maps_dir/<key>/<id>.png`.
    """

    def __init__(self, root, dataset, split, fixation_keys, sod_keys, *, seed=0, jitter=True,
                 n_splits=100, maps_dir=None):
        self.dataset = dataset
        self.fixation_keys = list(fixation_keys)
        self.sod_keys = list(sod_keys)
        self.fixation = {
            k: FixationEvaluator(jitter=jitter, n_splits=n_splits, seed=seed)
            for k in self.fixation_keys
        }
        self.sod = {k: SalientObjectEvaluator() for k in self.sod_keys}
        self.other = _OtherFixations(load_fixations(root, dataset, split), seed)
        self.maps_dir = maps_dir
        self.n_images = 0
        self.missing_other = 0

    def add(self, sample, maps):
        """Score one image; `maps` is a dict key → uint8 (H, W) map."""
        if self.maps_dir is not None:
            for key, array in maps.items():
                folder = os.path.join(self.maps_dir, key)
                os.makedirs(folder, exist_ok=True)
                cv2.imwrite(os.path.join(folder, sample.id + ".png"), array)
        if sample.fixpts is not None and self.fixation:
            fixpts = read_grey(sample.fixpts)
            density = None
            if sample.fixmap is not None:
                density = read_grey(sample.fixmap).astype(np.float64) / 255.0
            other = self.other.get(sample.id)
            self.missing_other += other is None
            for key, evaluator in self.fixation.items():
                evaluator.step(maps[key], fixpts, density=density, other_fixations=other)
        if sample.mask is not None and self.sod:
            mask = read_grey(sample.mask)
            for key, evaluator in self.sod.items():
                evaluator.step(maps[key], mask)
        self.n_images += 1

    def results(self):
        """`{"fixation": {key: results}, "salient_object": {key: results}}`; a section
        is `{}` when no image had its label."""
        fixation = {
            k: ev.get_results() for k, ev in self.fixation.items() if ev.values["nss"]
        }
        sod = {k: ev.get_results() for k, ev in self.sod.items() if ev.n_images}
        return {"fixation": fixation, "salient_object": sod}


def label_presence(samples):
    """(any fixations, any masks) among `samples`."""
    return any(s.fixpts for s in samples), any(s.mask for s in samples)
