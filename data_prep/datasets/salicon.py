"""SALICON (DATASETS.md §1): 20,000 COCO images, 640 x 480; two editions, never mixed.

* **2017** (LSUN'17 files): ``images/{train,val,test}/COCO_*2014_*.jpg``,
  ``fixations/{train,val}/<stem>.mat`` (v5: ``gaze`` struct array, one element per
  viewer, field ``fixations`` M x 2 ``[x, y]`` 1-based; ``resolution`` = [H, W], checked)
  and official density maps ``maps/{train,val}/<stem>.png`` (used when present, else
  the SALICON-API blur, sigma = 19 px).
* **2015** (LSUN'15 files): images from ``train.zip``/``val.zip``/``test.zip`` and
  ``fixations_{train,val}2014.json`` (COCO style; ``annotations[*].fixations`` are
  ``[row, col]`` 1-based, ``worker_id`` is the subject). Density: sigma = 19 px.

The edition is detected (``fixations/<split>/*.mat`` -> 2017, the JSON -> 2015) or forced
with ``--edition``; finding both without ``--edition`` is an error. Subjects: the viewer's
index in ``gaze`` (2017) or ``worker_id`` (2015). ``test`` holds images only.
``val/list_holdout.txt``: a fixed 1,000 val ids (or all if fewer) for early stopping,
drawn with ``numpy.random.default_rng(HOLDOUT_SEED)`` from the sorted val ids.
"""

import json

import numpy as np

from ..archives import LayoutError
from ..common import by_stem, files_in, loadmat_v5, pair
from ..io import BadInput
from ..prepared import RawPoints, Sample, write_split

NAME = "salicon"
ALIASES = ("salicon",)
DENSITY = None  # per split: official maps (2017) or sigma19; see convert()
KNOWN_MD5 = {}  # pysaliency lists MD5s of its own archive names; ours differ
DOWNLOAD = ("from salicon.net (challenge 2017 page): the images archive, the fixations archive "
            "(2017 .mat files, or the 2015 fixations_{train,val}2014.json) and, for 2017, the "
            "maps archive")
HOLDOUT_SIZE = 1000
HOLDOUT_SEED = 2018
SPLITS = ("train", "val", "test")


def holdout(ids: list[str], k: int = HOLDOUT_SIZE, seed: int = HOLDOUT_SEED) -> list[str]:
    """Deterministic early-stopping hold-out: ``k`` of the sorted ``ids`` (all if fewer)."""
    ids = sorted(ids)
    if len(ids) <= k:
        return ids
    pick = np.random.default_rng(seed).choice(len(ids), size=k, replace=False)
    return sorted(ids[i] for i in pick)


class _Mat2017:
    def __init__(self, path):
        self.path = path

    def __call__(self) -> RawPoints:
        mat = loadmat_v5(self.path)
        if "gaze" not in mat:
            raise BadInput("no variable 'gaze' (SALICON 2017 .mat expected)")
        gaze = mat["gaze"]
        if gaze.dtype.names is None or "fixations" not in gaze.dtype.names:
            raise BadInput("'gaze' has no field 'fixations'")
        xs, ys, subj = [], [], []
        for viewer, el in enumerate(gaze.ravel()):
            fx = np.asarray(el["fixations"], np.float64)
            if fx.size == 0:
                continue
            fx = fx.reshape(-1, 2)
            xs.append(fx[:, 0])  # [x, y] pairs
            ys.append(fx[:, 1])
            subj.append(np.full(len(fx), viewer))
        size = None
        if "resolution" in mat:
            r = np.asarray(mat["resolution"]).ravel()
            size = (int(r[0]), int(r[1]))
        cat = lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt)
        return RawPoints(cat(xs, float), cat(ys, float), cat(subj, np.int64), base=1, size_hw=size)


def _edition(src, forced):
    has17 = src.find_dir("fixations", "train", having="*.mat", required=False) is not None \
        or src.find_dir("fixations", "val", having="*.mat", required=False) is not None
    has15 = any(src.find_file(f"fixations_{s}2014.json", required=False) for s in ("train", "val"))
    if forced:
        if (forced == "2017" and not has17) or (forced == "2015" and not has15):
            raise LayoutError(f"{src.src}: --edition {forced} given but its fixation files "
                              "are missing")
        return forced
    if has17 and has15:
        raise LayoutError(f"{src.src}: holds both the 2015 JSON and the 2017 .mat fixations; "
                          "the editions must not be mixed: pass --edition 2015 or --edition 2017")
    if not (has17 or has15):
        raise LayoutError(f"{src.src}: no SALICON fixations found (fixations/train/*.mat for "
                          "2017, fixations_train2014.json for 2015)")
    return "2017" if has17 else "2015"


def _json_points(path, report):
    """-> {stem: RawPoints} from a 2015 COCO-style fixation JSON ([row, col], 1-based)."""
    try:
        data = json.loads(path.read_bytes())
        images = {im["id"]: im for im in data["images"]}
        per = {}
        for ann in data["annotations"]:
            per.setdefault(ann["image_id"], []).append(ann)
    except (ValueError, KeyError, TypeError) as e:
        raise LayoutError(f"{path}: not a SALICON 2015 fixation file ({e})") from e
    out = {}
    for image_id, im in images.items():
        ys, xs, subj = [], [], []
        for ann in per.get(image_id, []):
            f = np.asarray(ann.get("fixations", []), np.float64).reshape(-1, 2)
            ys.append(f[:, 0])  # [row, col] pairs
            xs.append(f[:, 1])
            subj.append(np.full(len(f), int(ann.get("worker_id", -1))))
        cat = lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt)
        rp = RawPoints(cat(xs, float), cat(ys, float), cat(subj, np.int64), base=1,
                       size_hw=(int(im["height"]), int(im["width"])) if "height" in im else None,
                       source=f"{path.name} image_id {image_id}")
        stem = im["file_name"].rsplit(".", 1)[0]
        out[stem] = rp
    for image_id in set(per) - set(images):
        report.warn(f"{path.name}: annotations for unknown image id {image_id} ignored")
    return out


def convert(src, root, report, options):
    edition = _edition(src, options.get("edition"))
    density_used = {}
    holdout_ids = []
    for split in SPLITS:
        img_dir = src.find_dir(having=f"COCO_{split}2014_*.jpg", required=split != "test")
        if img_dir is None:
            report.warn(f"no COCO_test2014_*.jpg images found; split 'test' skipped")
            continue
        images = by_stem([p for p in files_in(img_dir, (".jpg",), report)
                          if p.name.startswith(f"COCO_{split}2014_")], report)
        if split == "test":
            write_split(root, NAME, split, pair(images), set(), None, report,
                        workers=options.get("workers"))
            continue
        if edition == "2017":
            fdir = src.find_dir("fixations", split, having="*.mat")
            points = {}
            for stem, p in by_stem(files_in(fdir, (".mat",), report), report).items():
                points[stem] = _Mat2017(p)
            mdir = src.find_dir("maps", split, having="*.png", required=False)
            maps = by_stem(files_in(mdir, (".png",), report), report) if mdir else {}
            density = "official" if mdir else "sigma19"
            if not mdir:
                report.warn(f"maps/{split}/ not found: density maps computed with sigma = 19 px")
        else:
            points = _json_points(src.find_file(f"fixations_{split}2014.json"), report)
            maps, density = {}, "sigma19"
        samples = pair(images, None, points)
        if density == "official":
            for s in samples:
                if s.image is not None:
                    s.fixmap = maps.get(s.id)
                    if s.fixmap is None:
                        s.problem = f"image without its official map maps/{split}/{s.id}.png"
            for stem in sorted(set(maps) - set(images)):  # reported on their own
                samples.append(Sample(id=stem, image=None, fixmap=maps[stem]))
        extra = None
        if split == "val":
            ok = [s.id for s in samples if s.image is not None]
            holdout_ids = holdout(ok)
            extra = {"list_holdout.txt": holdout_ids}
        write_split(root, NAME, split, samples, {"fix"}, density, report, extra_lists=extra,
                    workers=options.get("workers"))
        density_used[split] = density
    return {"density_key": density_used.get("train", density_used.get("val")),
            "edition": edition, "density_per_split": density_used,
            "holdout": {"file": "val/list_holdout.txt", "size": HOLDOUT_SIZE, "seed": HOLDOUT_SEED,
                        "rule": "numpy.random.default_rng(seed).choice over the sorted val ids, "
                                "then sorted"}}
