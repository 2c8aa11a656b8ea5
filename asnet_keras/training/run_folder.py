"""What a training run folder holds, and how it is written.

    config.json                 every TrainConfig field plus the model's `ASNetOptions`
    history.csv                 one row per finished epoch: epoch (1-based), lr, loss,
                                per-output losses, val_loss, per-output val losses
    logs/train, logs/validation TensorBoard
    last.{keras,h5,weights.h5}  after every epoch
    best.{keras,h5,weights.h5}  the epoch with the lowest val_loss so far
    backup/                     tf.train checkpoints (model, optimizer, step, epoch sums)
    skipped_samples.json        samples left out as unreadable (--on-bad-sample skip)
    train.lock                  held while a process trains into the folder
    finished.json               written last when training ends normally

Every file is written to a temporary name, synced and renamed, so a run killed at any
moment, or a full disk, leaves the previous version whole (docs/data_integrity.md §5).
"""

import csv
import json
import math
import os

from asnet_keras.io import atomic_files
from asnet_keras.model.saving import save_model
from asnet_keras.training.bad_samples import HISTORY_COLUMN

RESULT_FILES = ("best.keras", "best.h5", "best.weights.h5", "last.keras", "last.h5", "last.weights.h5")
# The config.json keys that may differ between a run and its resumption (the one list;
# `check_resumable` refuses any other change): how it reports, how long it runs, how
# often it backs up, how it compiles and distributes, how it checks its data. None of
# them changes the network, the data stream or the optimizer's state.
RESUMABLE_CHANGES = (
    "verbose", "epochs", "patience", "backup_every", "jit_compile", "strategy", "cpu_devices",
    "replicas", "verify_data", "on_bad_sample",
)


def paths_of(out):
    """What a run folder holds, by name."""
    names = {name.replace(".", "_"): name for name in RESULT_FILES}
    paths = {key: os.path.join(out, name) for key, name in names.items()}
    for key, name in (
        ("config", "config.json"), ("history", "history.csv"), ("logs", "logs"),
        ("backup", "backup"), ("finished", "finished.json"),
    ):
        paths[key] = os.path.join(out, name)
    return paths


def read_history(path):
    """Rows of history.csv as dicts of floats (epoch as int); [] if absent."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = []
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if v not in ("", None)}
            parsed["epoch"] = int(parsed["epoch"])
            if HISTORY_COLUMN in parsed:  # a count, written back as an int
                parsed[HISTORY_COLUMN] = int(parsed[HISTORY_COLUMN])
            rows.append(parsed)
        return rows


def write_history(path, rows, columns):
    """Write history.csv atomically (docs/data_integrity.md §5)."""
    with atomic_files.atomic_output(path, fsync=True) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)


def best_so_far(rows):
    """(best epoch, best val_loss, epochs since best) of history rows; (0, inf, 0) if none."""
    best_epoch, best = 0, math.inf
    for row in rows:
        if row["val_loss"] < best:
            best_epoch, best = row["epoch"], row["val_loss"]
    since = (rows[-1]["epoch"] - best_epoch) if rows else 0
    return best_epoch, best, since


def save_model_files(model, out, prefix):
    """Write prefix.keras, prefix.h5 and prefix.weights.h5 atomically (temp + rename; a
    full disk leaves the previous files and raises OutputWriteError)."""
    for suffix in (".keras", ".h5", ".weights.h5"):
        final = os.path.join(out, prefix + suffix)
        with atomic_files.atomic_output(final, fsync=True) as tmp:  # keeps the suffix
            if suffix == ".weights.h5":
                model.save_weights(tmp)
            else:
                save_model(model, tmp)


def copy_model_files(out, source, target):
    """Copy source.{keras,h5,weights.h5} to target.* atomically (temp + rename)."""
    for suffix in (".keras", ".h5", ".weights.h5"):
        atomic_files.atomic_copy(os.path.join(out, source + suffix),
                                 os.path.join(out, target + suffix), fsync=True)


def write_json(path, content):
    """Write `content` as indented JSON atomically (temp + rename)."""
    atomic_files.atomic_write_text(path, json.dumps(content, indent=2, sort_keys=True) + "\n",
                                   fsync=True)


def check_resumable(out, content):
    """Refuse to resume a run folder made with another configuration."""
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as f:
        old = json.load(f)
    changed = [
        key for key in content
        if key not in RESUMABLE_CHANGES and key in old and old[key] != content[key]
    ]
    if changed:
        diffs = ", ".join(f"{k}: {old[k]!r} → {content[k]!r}" for k in changed)
        raise ValueError(
            f"{out} holds a run with another configuration ({diffs}). Resume it with its "
            f"own command (see {path}), or pass a new --out."
        )
