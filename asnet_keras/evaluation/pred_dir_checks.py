"""What `evaluate --pred-dir` says about a folder of maps besides their scores.

docs/data_integrity.md §6. A folder of precomputed maps is matched to a prepared split
by image id. Three things are reported in `results.json` (`pred_dir_checks`), as
warnings on the console and in `summary.md` / `results.md`, by file name:

- **Odd sizes.** A map whose size differs from its ground truth by more than rounding
  is still scored by the documented convention (resized by the metrics: MATLAB
  `imresize` for fixation maps, docs/metrics.md §A.0; bilinear for salient-object maps,
  docs/metrics.md §B.0), but counted and named, because it is more likely a map of
  another image or a bug of the method that wrote it. "More than rounding": no single
  scale factor s maps the ground truth's H×W to the map's h×w within one pixel per side
  (|h − s·H| ≤ 1 and |w − s·W| ≤ 1) — the aspect ratio differs — or the map is smaller
  than the ground truth by more than `max_shrink` (default 2) on a side, again up to a
  pixel (H / (h + 1) > max_shrink).
- **Ignored files.** Files of the folder that match no image id of the split (or a
  second map of an id that already has one of a preferred type) are listed as ignored.
- **Missing maps.** By default an id without a map stops the evaluation (the message
  names them). With `allow_missing`, the images that have maps are scored, and the
  missing ones are counted and named.

Example:
    >>> checks = PredDirChecks("maps/ecssd", "ecssd", "test", max_shrink=2.0)
    >>> pairs = checks.match(samples, all_ids)         # [(sample, map path)]
    >>> checks.check_size(sample, path, (h, w))        # per map, when it is read
    >>> checks.warnings(), checks.to_json()
"""

import os
import pathlib

from asnet_keras.data import file_checks, verification

MAP_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")  # preference order
DEFAULT_MAX_SHRINK = 2.0
NAMED_IN_WARNINGS = 10  # names written into one warning line (results.json has all)


def size_problem(map_hw, truth_hw, max_shrink=DEFAULT_MAX_SHRINK):
    """Why a map of size `map_hw` (h, w) is suspicious for a ground truth of `truth_hw`
    (H, W), or None when it equals the ground truth up to a scale and rounding.

    >>> size_problem((240, 320), (480, 640))          # half size, same aspect: fine
    >>> size_problem((24, 16), (48, 48))
    'aspect ratio differs: map 24×16 (H×W), ground truth 48×48'
    """
    h, w = (int(v) for v in map_hw)
    big_h, big_w = (int(v) for v in truth_hw)
    if (h, w) == (big_h, big_w):
        return None
    low = max((h - 1) / big_h, (w - 1) / big_w)
    high = min((h + 1) / big_h, (w + 1) / big_w)
    if low > high:
        return f"aspect ratio differs: map {h}×{w} (H×W), ground truth {big_h}×{big_w}"
    shrink = max(big_h / max(h, 1), big_w / max(w, 1))
    if max_shrink and max(big_h / (h + 1), big_w / (w + 1)) > max_shrink:  # 1 px rounding
        return (f"map {h}×{w} (H×W) is {shrink:.1f}× smaller than its ground truth "
                f"{big_h}×{big_w} (more than --max-map-shrink {max_shrink:g})")
    return None


def truth_size(sample):
    """(H, W) of a sample's ground truth: its mask, else its fixation points, else its
    image (the layout gives them all the image's size), from the file header."""
    for path in (sample.mask, sample.fixpts, sample.image):
        if path:
            kind = "image" if path == sample.image else "mask"
            try:
                return file_checks.inspect_file(path, kind)
            except file_checks.BadFile as error:
                root = pathlib.Path(path).parents[3]  # root/dataset/split/folder/file
                command = verification.repair_command(root, sample.dataset)
                raise ValueError(f"{path}: {error} (a prepared ground-truth file; repair: "
                                 f"{command})") from None
    raise ValueError(f"{sample.id}: no ground-truth file")


def _names(items, key):
    shown = [key(i) for i in items[:NAMED_IN_WARNINGS]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more (see results.json, pred_dir_checks)"
                               if more > 0 else "")


class PredDirChecks:
    """The checks of one dataset's folder of maps (see the module docstring).

    Args:
        folder: the folder holding this dataset's maps.
        dataset, split: the prepared split they are scored against.
        max_shrink: flag maps smaller than the ground truth by more than this factor
            per side (0 turns this part off; the aspect check stays).
        allow_missing: score the images that have maps instead of stopping.
    """

    def __init__(self, folder, dataset, split, max_shrink=DEFAULT_MAX_SHRINK,
                 allow_missing=False):
        if max_shrink and max_shrink < 1:
            raise ValueError(f"--max-map-shrink {max_shrink}: pass a factor ≥ 1 (or 0 for off).")
        self.folder, self.dataset, self.split = os.fspath(folder), dataset, split
        self.max_shrink = float(max_shrink or 0)
        self.allow_missing = bool(allow_missing)
        self.ignored = []  # {"file", "reason"}
        self.missing = []  # ids
        self.size_mismatches = []  # {"file", "id", "map_hw", "ground_truth_hw", "reason"}
        self.n_requested = 0

    def match(self, samples, all_ids):
        """[(sample, map path)] for the samples that have a map, in sample order.

        Args:
            samples: the `PreparedSample`s to score (maybe limited by --limit).
            all_ids: every id of the split (files matching one of them are not
                "ignored" even when --limit leaves the image out).
        Raises:
            FileNotFoundError: some samples have no map and `allow_missing` is off.
        """
        ids = set(all_ids)
        chosen, others = {}, []
        for entry in sorted(os.listdir(self.folder)):
            full = os.path.join(self.folder, entry)
            if not os.path.isfile(full):
                continue
            stem, ext = os.path.splitext(entry)
            if ext.lower() not in MAP_EXTENSIONS:
                others.append({"file": entry, "reason": f"not a map file type "
                               f"({ext or 'no extension'}; maps are {', '.join(MAP_EXTENSIONS)})"})
            elif stem not in ids:
                others.append({"file": entry, "reason": f"matches no image id of "
                               f"{self.dataset}/{self.split}"})
            else:
                rank = MAP_EXTENSIONS.index(ext.lower())
                if stem in chosen:
                    old_rank, old = chosen[stem]
                    loser, winner = (entry, old) if rank >= old_rank else (old, entry)
                    if rank < old_rank:
                        chosen[stem] = (rank, entry)
                    others.append({"file": loser, "reason": f"a second map of id '{stem}'; "
                                   f"{winner} is scored"})
                else:
                    chosen[stem] = (rank, entry)
        self.ignored = sorted(others, key=lambda item: item["file"])
        self.n_requested = len(samples)
        self.missing = [s.id for s in samples if s.id not in chosen]
        if self.missing and not self.allow_missing:
            shown = ", ".join(f"{i}.png" for i in self.missing[:5])
            raise FileNotFoundError(
                f"{self.folder}: {len(self.missing)} of {len(samples)} {self.dataset} images "
                f"have no map (e.g. {shown}). Maps must be named by image id, as in "
                f"{self.dataset}/{self.split}/list.txt; or pass --allow-missing to score the "
                "images that have maps (the missing ones are counted in results.json)."
            )
        return [(s, os.path.join(self.folder, chosen[s.id][1])) for s in samples
                if s.id in chosen]

    def check_size(self, sample, path, map_hw):
        """Record the map of `sample` (read at `map_hw`) if its size is suspicious."""
        truth = truth_size(sample)
        reason = size_problem(map_hw, truth, self.max_shrink)
        if reason:
            self.size_mismatches.append({
                "file": os.path.basename(path), "id": sample.id,
                "map_hw": [int(v) for v in map_hw], "ground_truth_hw": [int(v) for v in truth],
                "reason": reason,
            })
        return reason

    def warnings(self):
        """One warning line per kind of finding (for results.json, results.md, console)."""
        out = []
        if self.size_mismatches:
            out.append(
                f"{len(self.size_mismatches)} map(s) differ in size from their ground truth by "
                "more than rounding; they are scored after resizing as documented, but may "
                "belong to another image (docs/data_integrity.md §6): "
                + _names(self.size_mismatches, lambda m: f"{m['file']} ({m['reason']})"))
        if self.ignored:
            out.append(
                f"{len(self.ignored)} file(s) in {self.folder} were ignored: "
                + _names(self.ignored, lambda m: f"{m['file']} ({m['reason']})"))
        if self.missing:
            out.append(
                f"{len(self.missing)} of {self.n_requested} images have no map and were not "
                "scored (--allow-missing): " + _names(self.missing, lambda i: i))
        return out

    def to_json(self):
        """The `pred_dir_checks` entry of results.json."""
        return {
            "folder": self.folder,
            "max_map_shrink": self.max_shrink,
            "allow_missing": self.allow_missing,
            "size_mismatches": {"count": len(self.size_mismatches),
                                "maps": self.size_mismatches},
            "ignored_files": {"count": len(self.ignored), "files": self.ignored},
            "missing_maps": {"count": len(self.missing), "ids": self.missing},
        }
