"""Check the prepared datasets a training run reads, before its first step.

docs/data_integrity.md §1–2. A paper-scale run takes days; a truncated image or a
junk mask (a partial copy, a failing disk) must not stop it hours in with a
TensorFlow stack trace that names no file. `verify(root, datasets, mode)` checks every
file training will read — for each id of the `train` split and of the validation
split (`val/list_holdout.txt` if present, else `val/list.txt`): `images/<id>.jpg`,
plus `masks/<id>.png` and `fixmaps/<id>.png` where the split has those labels
(meta.json `labels`, else the folders present) — and returns every problem, by file,
with its reason; `DataProblems` turns them into one message that also gives the
`data_prep` command that repairs each dataset.

Modes:
    quick   (default) reads only headers and container structure, no pixel data:
            the file exists and is not empty; it is a JPEG (images; a PNG is
            accepted too) or a PNG (labels); its header parses and gives a size and a
            channel count the training decoder accepts (8-bit, JPEG with 1 or 3
            components); the size is the one the layout records (images: the
            height/width that fixations.npz stores for the id, where the split has
            one; labels: exactly the image's H×W); and the file is complete (JPEG: an
            end-of-image marker after the start of the scan data; PNG: the chunk chain
            runs to an IEND chunk without passing the end of the file). Finds missing,
            empty, truncated, junk and wrongly sized files; not damage inside the
            compressed pixel data.
    full    quick, plus every file decoded completely (OpenCV: libjpeg-turbo and
            libpng, the libraries TensorFlow's decoders use) and the decoded size
            compared; finds damage inside the pixel data too. Several times slower.
    off     nothing is checked.

Checks run on a thread pool with a progress bar. A verified split is remembered in a
cache file (one per split folder, under `cache_dir()`) keyed by the split's checksums
in meta.json (`md5` of list.txt and of all files); for each verified file it keeps
(size, mtime, mode), so a repeated or resumed run checks only files that changed since
— a few `stat` calls per image — and a new data_prep run (new checksums) is verified
afresh. Problems are never cached. Pure Python + numpy + OpenCV: no TensorFlow.

Command line (the same check without training):
    asnet verify-data --data data/prepared --datasets salicon,thus10k,dut-omron

Example (Python):
    >>> result = verify("data/prepared", ["salicon", "thus10k", "dut-omron"], "quick")
    >>> result.problems      # [] when everything is readable
"""

import dataclasses
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from asnet_keras.io import atomic_files
from asnet_keras.data import layout as prepared
from asnet_keras.data.file_checks import BadFile, file_stat, inspect_file
from asnet_keras.names import (
    FIXATIONS_FILE,
    FIXMAP_FOLDER,
    IMAGE_FOLDER,
    LIST_FILE,
    MASK_FOLDER,
    SUFFIXES,
)

MODES = ("full", "quick", "off")
DEFAULT_MODE = "quick"
_RANK = {"quick": 1, "full": 2}
# What training reads of each id: kind → (folder, suffix, meta.json label that implies it).
FILES = {kind: (folder, SUFFIXES[folder], label) for kind, folder, label in (
    ("image", IMAGE_FOLDER, None), ("mask", MASK_FOLDER, "mask"), ("fixmap", FIXMAP_FOLDER, "fix"))}
CACHE_FORMAT = 1
MAX_LISTED = 100  # problems printed in a DataProblems message (all are in .problems)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One unreadable or inconsistent file (or list entry) of a prepared split."""

    dataset: str
    split: str
    id: str
    path: str
    reason: str

    @property
    def key(self):
        """(dataset, split, id): the sample the problem belongs to."""
        return (self.dataset, self.split, self.id)

    def to_json(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class VerifyResult:
    """What `verify` did: `problems`, samples `checked` and `cached` (skipped because
    unchanged since an earlier verification), `files` checked, `seconds`, `mode`."""

    mode: str
    problems: list
    checked: int = 0
    cached: int = 0
    files: int = 0
    seconds: float = 0.0

    def summary(self):
        """One line for the log."""
        text = (f"Data verification ({self.mode}): {self.checked + self.cached} samples, "
                f"{self.files} files checked in {self.seconds:.1f} s")
        if self.cached:
            text += f", {self.cached} samples unchanged since an earlier check (cache)"
        text += f"; {len(self.problems)} problem(s)."
        return text


class DataProblems(ValueError):
    """Verification found problems; the message lists them by file, with the reason
    and the data_prep command that repairs each dataset."""

    def __init__(self, problems, root, mode=DEFAULT_MODE, footer=""):
        self.problems, self.root, self.mode = list(problems), os.fspath(root), mode
        message = format_problems(self.problems, self.root, self.mode)
        super().__init__(message + ("\n" + footer if footer else ""))


# ----------------------------------------------------------------------------------
# What training reads


@dataclasses.dataclass(frozen=True)
class SampleFiles:
    """The files of one id that training reads, and the size the layout records."""

    dataset: str
    split: str
    id: str
    files: tuple  # ((kind, path), ...), image first
    recorded_hw: tuple | None
    list_path: str


def training_splits(root, dataset):
    """[(split, ids)] that training reads: `train`, and the validation ids of `val`
    (`layout.validation_list`: `val/list_holdout.txt` if present, else `val/list.txt`),
    as the training pipeline reads them."""
    names = prepared.splits(root, dataset)
    out = []
    if "train" in names:
        out.append(("train", prepared.read_ids(root, dataset, "train"), LIST_FILE))
    if "val" in names:
        name = prepared.validation_list(root, dataset)
        out.append(("val", prepared.read_ids(root, dataset, "val", name), name))
    return out


def _expected_kinds(root, dataset, split, meta):
    """The kinds each id of the split must have: image, plus mask / fixmap if the split
    has that label (meta.json), else if its folder exists."""
    labels = (meta.get("splits", {}).get(split) or {}).get("labels")
    base = prepared.split_dir(root, dataset, split)
    kinds = ["image"]
    for kind in ("mask", "fixmap"):
        folder, _, label = FILES[kind]
        wanted = label in labels if labels is not None else os.path.isdir(
            os.path.join(base, folder))
        if wanted:
            kinds.append(kind)
    return kinds


def _recorded_sizes(root, dataset, split):
    """{id: (H, W)} from the split's fixations.npz; {} if it has none or it is unreadable."""
    import numpy as np

    path = os.path.join(prepared.split_dir(root, dataset, split), FIXATIONS_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with np.load(path, allow_pickle=False) as table:
            ids, heights, widths = table["ids"], table["height"], table["width"]
    except (OSError, ValueError, KeyError):
        return {}
    return {str(i): (int(h), int(w)) for i, h, w in zip(ids.tolist(), heights, widths)}


def training_files(root, datasets):
    """Every `SampleFiles` training reads from `datasets` under `root`, grouped by split:
    [(dataset, split, fingerprint, [SampleFiles])]."""
    groups = []
    for dataset in datasets:
        meta = prepared.read_meta(root, dataset)
        for split, ids, list_name in training_splits(root, dataset):
            base = prepared.split_dir(root, dataset, split)
            kinds = _expected_kinds(root, dataset, split, meta)
            sizes = _recorded_sizes(root, dataset, split)
            entries = [
                SampleFiles(
                    dataset, split, sample_id,
                    tuple((k, os.path.join(base, FILES[k][0], sample_id + FILES[k][1]))
                          for k in kinds),
                    sizes.get(sample_id), os.path.join(base, list_name),
                )
                for sample_id in ids
            ]
            fingerprint = (meta.get("splits", {}).get(split) or {}).get("md5")
            groups.append((dataset, split, fingerprint, entries))
    return groups


def check_sample(entry, full=False):
    """The `Problem`s of one sample (empty list if training can read it)."""
    problems, found = [], {}
    missing = []
    for kind, path in entry.files:
        try:
            found[kind] = inspect_file(path, kind, full)
        except BadFile as error:
            if str(error) == "missing":
                missing.append((kind, path))
            else:
                problems.append(Problem(entry.dataset, entry.split, entry.id, path, str(error)))
    if missing and len(missing) == len(entry.files):
        names = ", ".join(os.path.relpath(p, os.path.dirname(entry.list_path))
                          for _, p in missing)
        return [Problem(entry.dataset, entry.split, entry.id, entry.list_path,
                        f"lists '{entry.id}' but none of its files exist ({names})")]
    for kind, path in missing:
        reason = ("missing (its id is listed in list.txt)" if kind == "image" else
                  f"missing: the split has {FILES[kind][0]} (meta.json labels) but not this "
                  "id's")
        problems.append(Problem(entry.dataset, entry.split, entry.id, path, reason))
    image_hw = found.get("image")
    paths = dict(entry.files)
    if image_hw and entry.recorded_hw and tuple(entry.recorded_hw) != image_hw:
        problems.append(Problem(
            entry.dataset, entry.split, entry.id, paths["image"],
            f"is {image_hw[0]}×{image_hw[1]} px (H×W) but fixations.npz records "
            f"{entry.recorded_hw[0]}×{entry.recorded_hw[1]} for this id"))
    for kind in ("mask", "fixmap"):
        hw = found.get(kind)
        if hw and image_hw and hw != image_hw:
            problems.append(Problem(
                entry.dataset, entry.split, entry.id, paths[kind],
                f"is {hw[0]}×{hw[1]} px (H×W) but its image is {image_hw[0]}×{image_hw[1]}"))
    return problems


# ----------------------------------------------------------------------------------
# Cache


def cache_dir():
    """Where verified splits are remembered: $ASNET_KERAS_CACHE, else
    $XDG_CACHE_HOME/asnet_keras, else ~/.cache/asnet_keras; then `verified-data/`."""
    base = os.environ.get("ASNET_KERAS_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "asnet_keras")
    return os.path.join(base, "verified-data")


def _cache_file(folder, split_dir):
    real = os.path.realpath(split_dir)
    return os.path.join(folder, hashlib.sha1(real.encode("utf-8")).hexdigest()[:20] + ".json")


def _load_cache(path, split_dir, fingerprint):
    try:
        with open(path, encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}
    if (cache.get("format") != CACHE_FORMAT or cache.get("fingerprint") != fingerprint
            or cache.get("folder") != os.path.realpath(split_dir)):
        return {}
    return cache.get("files", {})


# ----------------------------------------------------------------------------------
# Verification


def default_workers():
    """Threads for checking: the CPU count, at most 16 (reads and decodes release the GIL)."""
    return max(1, min(16, os.cpu_count() or 1))


def verify(root, datasets, mode=DEFAULT_MODE, *, workers=None, progress=True, use_cache=True,
           skip=()):
    """Check every file training reads from `datasets` under `root`.

    Args:
        root: the prepared data root.
        datasets: dataset names (prepared; see `prepared.check_prepared`).
        mode: "quick", "full" or "off" (see the module docstring).
        workers: checking threads (default `default_workers()`).
        progress: show a progress bar (tqdm, on stderr).
        use_cache: read and update the cache of verified files (`cache_dir()`).
        skip: (dataset, split, id) keys not to check (samples a run already skips).
    Returns:
        VerifyResult; `problems` is a list of `Problem`, sorted by dataset, split, path.
    """
    if mode not in MODES:
        raise ValueError(f"verify-data mode {mode!r}: pass one of {', '.join(MODES)}.")
    result = VerifyResult(mode, [])
    if mode == "off":
        return result
    started = time.time()
    rank, full = _RANK[mode], mode == "full"
    skip = set(skip)
    folder = cache_dir() if use_cache else None
    todo, caches = [], []
    for dataset, split, fingerprint, entries in training_files(root, datasets):
        split_dir = prepared.split_dir(root, dataset, split)
        path = _cache_file(folder, split_dir) if folder else None
        known = _load_cache(path, split_dir, fingerprint) if path else {}
        verified = {}
        for entry in entries:
            if (entry.dataset, entry.split, entry.id) in skip:
                continue
            stats = {os.path.relpath(p, split_dir): file_stat(p) for _, p in entry.files}
            cached = all(
                s is not None and known.get(rel, [None])[:2] == s
                and known[rel][2] >= rank for rel, s in stats.items()
            )
            if cached:
                result.cached += 1
                verified.update((rel, known[rel]) for rel in stats)
            else:
                todo.append((entry, stats, verified))
        caches.append((path, split_dir, fingerprint, verified))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc=f"Verifying training data ({mode})", unit="img",
               disable=not progress or not todo, leave=False)

    def one(item):
        entry, stats, verified = item
        problems = check_sample(entry, full)
        return item, problems

    problems = []
    with ThreadPoolExecutor(workers or default_workers()) as pool:
        for (entry, stats, verified), found in pool.map(one, todo, chunksize=16):
            result.files += len(entry.files)
            result.checked += 1
            if found:
                problems += found
            else:
                verified.update((rel, s + [rank]) for rel, s in stats.items() if s)
            bar.update(1)
    bar.close()
    if folder:
        for path, split_dir, fingerprint, verified in caches:
            _save_cache(path, split_dir, fingerprint, verified)
    result.problems = sorted(problems, key=lambda p: (p.dataset, p.split, p.path))
    result.seconds = time.time() - started
    return result


def missing_images(root, datasets, skip=()):
    """`Problem`s for the listed ids whose image file does not exist (one `stat` per
    id; what a run that skips bad samples needs even with --verify-data off)."""
    problems = []
    for dataset, split, _, entries in training_files(root, datasets):
        for entry in entries:
            image = dict(entry.files)["image"]
            if (dataset, split, entry.id) not in skip and not os.path.isfile(image):
                problems.append(Problem(dataset, split, entry.id, image,
                                        "missing (its id is listed in list.txt)"))
    return problems


def _save_cache(path, split_dir, fingerprint, verified):
    content = {"format": CACHE_FORMAT, "folder": os.path.realpath(split_dir),
               "fingerprint": fingerprint, "files": verified}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_files.atomic_write_text(path, json.dumps(content, sort_keys=True))
    except OSError:
        pass  # a cache that cannot be written only costs a re-check next time


# ----------------------------------------------------------------------------------
# Messages


def repair_command(root, dataset):
    """The data_prep command that rewrites `dataset` under `root` (it rewrites only the
    files that differ from what it would write)."""
    root = os.fspath(root)
    if dataset.startswith("synthetic"):
        source = prepared.read_meta(root, dataset).get("source") or {}
        command = f"asnet prepare synthetic --dst {root}"
        for flag, key in (("--n", "n"), ("--n-test", "n_test"), ("--size", "size"),
                          ("--seed", "seed")):
            if key in source:
                command += f" {flag} {source[key]}"
        return command
    command = f"asnet prepare {dataset} --src RAW_DIR --dst {root}"
    meta = prepared.read_meta(root, dataset)
    if meta.get("edition"):
        command += f" --edition {meta['edition']}"
    src = (meta.get("source") or {}).get("src_name")
    if src:
        command += f"   (RAW_DIR: the download you prepared it from, '{src}')"
    return command


def format_problems(problems, root, mode=DEFAULT_MODE, limit=MAX_LISTED):
    """The problems by dataset and file, each dataset with its repair command."""
    lines = [f"the prepared data under {root} has {len(problems)} problem(s) in files "
             f"training reads (--verify-data {mode}; docs/data_integrity.md §1):"]
    shown = 0
    by_dataset = {}
    for p in problems:
        by_dataset.setdefault(p.dataset, []).append(p)
    for dataset, items in by_dataset.items():
        lines.append(f"  {dataset} ({len(items)}), repair: {repair_command(root, dataset)}")
        for p in items:
            if shown >= limit:
                break
            lines.append(f"    {p.path}: {p.reason}")
            shown += 1
    if shown < len(problems):
        lines.append(f"  … and {len(problems) - shown} more: `asnet verify-data "
                     f"--data {root} --datasets {','.join(by_dataset)}` lists them all.")
    return "\n".join(lines)
