"""Reading the canonical prepared layout (docs/datasets.md §10) — paths and tables only.

`data_prep` writes the layout; the input pipeline, evaluation and notebooks read it
through this module and nothing else, so no code downstream knows a raw dataset layout.
Pure Python + numpy: no TensorFlow import.

Layout: <root>/<dataset>/<split>/{list.txt, images/<id>.jpg, masks/<id>.png,
fixpts/<id>.png, fixmaps/<id>.png, fixations.npz}; a label file exists only where the
dataset has that label for that image. The file and folder names are those of
`asnet_keras.names`, which `data_prep` writes with.
"""

import json
import os
from dataclasses import dataclass

import numpy as np

from asnet_keras.names import (
    FIXATIONS_FILE,
    FIXMAP_FOLDER,
    FIXPTS_FOLDER,
    HOLDOUT_LIST,
    IMAGE_FOLDER,
    LIST_FILE,
    MASK_FOLDER,
    META_FILE,
    SUFFIXES,
    SYNTHETIC_DATASETS,
)


@dataclass(frozen=True)
class PreparedSample:
    """One prepared image and the paths of the labels it has (None where absent)."""

    dataset: str
    split: str
    id: str
    image: str
    mask: str | None
    fixpts: str | None
    fixmap: str | None


def split_dir(root, dataset, split):
    return os.path.join(os.fspath(root), dataset, split)


def prepare_command(dataset, root):
    """The command that prepares `dataset` under `root`, for error messages."""
    if dataset in SYNTHETIC_DATASETS:
        return f"asnet prepare synthetic --dst {root}"
    return f"asnet prepare {dataset} --src RAW_DIR --dst {root}"


def check_prepared(root, datasets, split=None):
    """Raise ValueError naming every dataset (and split) that is not prepared under root.

    Args:
        root: the prepared data root.
        datasets: dataset names.
        split: a split that must exist in each, or None (any split).
    """
    missing = []
    for name in datasets:
        base = os.path.join(os.fspath(root), name)
        if split is None:
            ok = os.path.isdir(base) and bool(splits(root, name))
        else:
            ok = os.path.isfile(os.path.join(base, split, LIST_FILE))
        if not ok:
            missing.append(name)
    if missing:
        lines = [f"  {name}: run `{prepare_command(name, root)}`" for name in missing]
        where = f" (split '{split}')" if split else ""
        raise ValueError(
            f"Prepared data missing under {root}{where} for: {', '.join(missing)}.\n"
            + "\n".join(lines)
            + "\n(`asnet prepare all --src RAW_ROOT --dst ROOT` prepares every "
            "dataset found under RAW_ROOT; see data_prep/README.md for downloads.)"
        )


def splits(root, dataset):
    """The splits of a prepared dataset that have a list.txt, sorted."""
    base = os.path.join(os.fspath(root), dataset)
    if not os.path.isdir(base):
        return []
    return sorted(
        s for s in os.listdir(base) if os.path.isfile(os.path.join(base, s, LIST_FILE))
    )


def validation_list(root, dataset):
    """The list of the `val` split that training validates on: `list_holdout.txt` where
    the split has one (SALICON's fixed validation ids), else `list.txt`."""
    holdout = os.path.join(split_dir(root, dataset, "val"), HOLDOUT_LIST)
    return HOLDOUT_LIST if os.path.isfile(holdout) else LIST_FILE


def read_ids(root, dataset, split, list_name=LIST_FILE):
    """The ids of a split (or of another list file in the split folder, e.g.
    `list_holdout.txt`), in file order."""
    path = os.path.join(split_dir(root, dataset, split), list_name)
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def samples(root, dataset, split, ids=None, allow_missing=()):
    """The `PreparedSample`s of a split (all of list.txt unless `ids` is given).

    A listed id whose image is missing raises ValueError naming it, unless the id is in
    `allow_missing` (or `allow_missing` is True): then its PreparedSample keeps the image path
    (a training run that skips bad samples replaces it, docs/data_integrity.md §3)."""
    base = split_dir(root, dataset, split)
    if ids is None:
        ids = read_ids(root, dataset, split)

    def label(folder, sample_id):
        path = os.path.join(base, folder, sample_id + SUFFIXES[folder])
        return path if os.path.isfile(path) else None

    out = []
    for sample_id in ids:
        image = os.path.join(base, IMAGE_FOLDER, sample_id + SUFFIXES[IMAGE_FOLDER])
        if not os.path.isfile(image) and not (
                allow_missing is True or sample_id in allow_missing):
            raise ValueError(
                f"{image} is listed in {base}/{LIST_FILE} but missing; re-run "
                f"`{prepare_command(dataset, root)}`."
            )
        out.append(
            PreparedSample(dataset, split, sample_id, image,
                   label(MASK_FOLDER, sample_id), label(FIXPTS_FOLDER, sample_id),
                   label(FIXMAP_FOLDER, sample_id))
        )
    return out


def load_fixations(root, dataset, split):
    """The split's fixations.npz as a dict of numpy arrays, or None if absent.

    Keys: ids, image_index, x, y (0-based, x = column), subject, height, width.
    """
    path = os.path.join(split_dir(root, dataset, split), FIXATIONS_FILE)
    if not os.path.isfile(path):
        return None
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def read_meta(root, dataset):
    """The dataset's meta.json as a dict ({} if absent)."""
    path = os.path.join(os.fspath(root), dataset, META_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
