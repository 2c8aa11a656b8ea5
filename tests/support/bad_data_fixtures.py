"""Damaging a synthetic prepared dataset the way partial copies and failing disks do."""

import os
import shutil

SYNTHETIC = ("synthetic-fix", "synthetic-sod", "synthetic-both")


def truncate(path, keep=0.6):
    """Cut `path` to `keep` of its bytes (a partial copy); return the original bytes."""
    with open(path, "rb") as f:
        original = f.read()
    with open(path, "wb") as f:
        f.write(original[: int(len(original) * keep)])
    return original


def junk(path, size=300, seed=0):
    """Overwrite `path` with `size` pseudo-random bytes; return the original bytes."""
    import numpy as np

    with open(path, "rb") as f:
        original = f.read()
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    with open(path, "wb") as f:
        f.write(b"\x13" + data[1:])  # never a PNG or JPEG signature
    return original


def remove_entry(root, dataset, split, sample_id):
    """Delete every file of `sample_id` but keep it in list.txt; return the deleted paths."""
    base = os.path.join(root, dataset, split)
    removed = []
    for folder, suffix in (("images", ".jpg"), ("masks", ".png"), ("fixpts", ".png"),
                           ("fixmaps", ".png")):
        path = os.path.join(base, folder, sample_id + suffix)
        if os.path.exists(path):
            os.remove(path)
            removed.append(path)
    return removed


def damage_three(root, truncated=("synthetic-both", "train_00003"),
                 junk_mask=("synthetic-sod", "train_00005"),
                 missing=("synthetic-fix", "train_00007")):
    """The three damages of the issue: a truncated training image, a junk mask and a
    list entry whose files are missing. Returns {kind: path named in messages}."""
    image = os.path.join(root, truncated[0], "train", "images", truncated[1] + ".jpg")
    mask = os.path.join(root, junk_mask[0], "train", "masks", junk_mask[1] + ".png")
    truncate(image)
    junk(mask)
    remove_entry(root, missing[0], "train", missing[1])
    return {"truncated": image, "junk": mask,
            "missing": os.path.join(root, missing[0], "train", "list.txt"),
            "missing_id": missing[1]}


def copy_tree(source, target):
    shutil.copytree(source, target)
    return str(target)
