"""SALICON (docs/datasets.md §1; docs/datasets_downloads.md §1-§2): 20,000 COCO images,
640 x 480; two editions of the ground truth, never mixed.

Files are found by their names, wherever they sit: ``COCO_{train,val,test}2014_*.jpg``
images, ``COCO_{train,val}2014_*.mat`` fixation files, ``COCO_{train,val}2014_*.png``
official density maps, ``fixations_{train,val}2014.json`` (2015 JSON). So the archives
are accepted as downloaded (``images.zip`` holds ``images/{train,val,test}/``;
``fixations.zip`` and ``maps.zip`` hold ``train/`` and ``val/`` at their top), unpacked
into folders named after them (``fixations/train/``), or unpacked side by side without
such a folder (``train/`` holding both ``.mat`` and ``.png`` files).

* **2017** (LSUN'17): per-image ``.mat`` v5 files, ``gaze`` an n x 1 struct array (one
  element per viewer) with field ``fixations`` (M x 2, ``[x, y]``, 1-based);
  ``resolution`` = [H, W] (checked); official density maps ``maps.zip``. If the maps
  are absent the maps are computed (SALICON API blur, sigma = 19 px), the summary table
  says so and the command exits 1 unless ``--allow-computed-maps``. If a maps archive is
  present in any form but lacks a split's maps, the dataset is not prepared: official
  maps are never silently replaced.
* **2015** (LSUN'15/'16): either the COCO-style ``fixations_{train,val}2014.json``
  (``annotations[*].fixations`` are ``[row, col]`` 1-based, ``worker_id`` the subject),
  or the same per-image ``.mat`` files as 2017 but with ``gaze`` a 1 x n struct array.
  Density: sigma = 19 px (the SALICON API convention of that release); maps found
  beside a 2015 copy are not used (reported).

The edition is recognised by content (docs/datasets_downloads.md §2): the MD5 of a
fixation archive equal to a published one, else the orientation of ``gaze`` in a sample
of the ``.mat`` files, or the 2015 JSON names; ``meta.json`` records the edition and the
evidence. Copies of both editions without ``--edition`` are an error; so is a copy
whose edition cannot be told. ``test`` holds images only. ``val/list_holdout.txt``: a
fixed 1,000 val ids (or all if fewer) for early stopping, drawn with
``numpy.random.default_rng(HOLDOUT_SEED)`` from the sorted val ids.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io

from asnet_keras.names import HOLDOUT_LIST

from ..archives import LayoutError, is_junk
from ..common import loadmat_v5, pair
from ..io import BadInput
from ..prepared import RawPoints, Sample, write_split

NAME = "salicon"
ALIASES = ("salicon",)
DENSITY = None  # per split: official maps (2017) or sigma19; see convert()
KNOWN_MD5 = {}  # archive names differ between mirrors; editions are matched by MD5 below
DOWNLOAD = ("images.zip, fixations.zip and maps.zip from salicon.net (challenge 2017 page); "
            "for the 2015 edition fixations_train2014.json and fixations_val2014.json")
HOLDOUT_SIZE = 1000
HOLDOUT_SEED = 2018
SPLITS = ("train", "val", "test")
FIX_SPLITS = ("train", "val")

#: MD5 of fixation archives -> edition (pysaliency's 2015 .mat and 2017 .mat archives;
#: docs/datasets_downloads.md §2).
PUBLISHED_FIXATION_MD5 = {"9a22db9d718200fb90252e5010c004c4": "2015",
                          "462b70f4f9e8ea446ac628e46cea8d3d": "2017"}
#: .mat files per split read to recognise the edition from ``gaze``.
EDITION_SAMPLE = 8
_NAME_RE = re.compile(r"^COCO_(train|val|test)2014_\d+\.(jpg|mat|png)$", re.IGNORECASE)
_JSON_RE = re.compile(r"^fixations_(train|val)2014\.json$", re.IGNORECASE)


def holdout(ids: list[str], k: int = HOLDOUT_SIZE, seed: int = HOLDOUT_SEED) -> list[str]:
    """Deterministic early-stopping hold-out: ``k`` of the sorted ``ids`` (all if fewer)."""
    ids = sorted(ids)
    if len(ids) <= k:
        return ids
    pick = np.random.default_rng(seed).choice(len(ids), size=k, replace=False)
    return sorted(ids[i] for i in pick)


class _MatFixations:
    """Reads one per-image SALICON ``.mat`` file (both editions: ``gaze(i).fixations``)."""

    def __init__(self, path):
        self.path = path

    def __call__(self) -> RawPoints:
        mat = loadmat_v5(self.path)
        if "gaze" not in mat:
            raise BadInput("no variable 'gaze' (SALICON fixation .mat expected)")
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


# ------------------------------------------------------------------ finding the files
@dataclass
class _Found:
    """Files of one kind found in one place: an unpacked folder or one archive.

    ``files[split][stem]`` is a Path (unpacked) or a member name (in ``archive``).
    ``label`` names the place in messages and meta.json."""

    kind: str  # "jpg" | "mat" | "png" | "json"
    label: str
    archive: Path | None
    order: tuple
    files: dict = field(default_factory=dict)
    edition: str | None = None
    evidence: str = ""

    def add(self, split, stem, where):
        self.files.setdefault(split, {}).setdefault(stem, where)


def _group(dirname: str) -> str:
    """Folder that stands for a set of split folders: the parent of ``train``/``val``/
    ``test``, else the folder itself."""
    return posixpath.dirname(dirname) if posixpath.basename(dirname).lower() in SPLITS else dirname


def _scan(src, kind: str) -> list[_Found]:
    """Every place (unpacked folder group or archive) holding SALICON files of ``kind``,
    unpacked places first, each list ordered shallowest first. Extracts nothing."""
    places: dict = {}

    def match(name):
        if kind == "json":
            m = _JSON_RE.match(name)
            return (m.group(1).lower(), "") if m else None
        m = _NAME_RE.match(name)
        if m and m.group(2).lower() == kind:
            return m.group(1).lower(), name.rsplit(".", 1)[0]
        return None

    for d in src.unpacked_dirs():
        try:
            names = sorted(p.name for p in d.iterdir() if p.is_file() and not is_junk(p.name))
        except OSError:
            continue
        gdir = d.parent if d.name.lower() in SPLITS and d != src.src else d
        for name in names:
            hit = match(name)
            if hit:
                key = (None, str(gdir))
                if key not in places:
                    label = src.src.name if gdir == src.src else src.display(gdir)
                    places[key] = _Found(kind, label.rstrip("/") + "/", None,
                                         (0, len(gdir.parts), str(gdir)))
                places[key].add(hit[0], hit[1], d / name)
    for arch, members in src.pending_members().items():
        for member in members:
            hit = match(posixpath.basename(member))
            if hit:
                group = _group(posixpath.dirname(member))
                key = (arch, group)
                if key not in places:
                    label = arch.name + (f":{group}/" if group else "")
                    places[key] = _Found(kind, label, arch,
                                         (1, len(Path(group).parts), str(arch), group))
                places[key].add(hit[0], hit[1], member)
    return sorted(places.values(), key=lambda f: f.order)


def _open_nested(src) -> None:
    """Extract the archives that hold archives (a bundle of the SALICON downloads), so
    that the inner archives can be listed like the others. The real downloads are not
    nested, so usually nothing happens."""
    while True:
        outer = [a for a, members in src.pending_members().items()
                 if any(m.lower().endswith((".zip", ".rar")) for m in members)]
        if not outer:
            return
        for a in outer:
            src.extract(a)


def _paths(src, found: _Found, split: str) -> dict[str, Path]:
    """``{stem: Path}`` of one split of ``found``, extracting its archive if needed."""
    files = found.files.get(split, {})
    if found.archive is None:
        return dict(files)
    root = src.extract(found.archive)
    return {stem: root / member for stem, member in files.items()}


def _maps_hint(src) -> str | None:
    """Where a maps archive or folder is, judged by its name (``maps.zip``, ``maps/``),
    even if it holds no map: used to refuse computing maps when one is present."""
    for d in src.unpacked_dirs():
        if d.name.lower() == "maps":
            return src.display(d) + "/"
    for arch in src.pending:
        if arch.name.lower().startswith("maps") and arch.name.lower().endswith((".zip", ".rar")):
            return arch.name
    for a in src.archives:
        if a["name"].lower().startswith("maps"):
            return a["name"]
    return None


# ----------------------------------------------------------------- recognising editions
def _gaze_orientation(data: bytes) -> str | None:
    """'2017' for an n x 1 ``gaze`` struct array (n > 1), '2015' for 1 x n, else None."""
    try:
        mat = scipy.io.loadmat(io.BytesIO(data), variable_names=["gaze"])
    except Exception:
        return None
    gaze = mat.get("gaze")
    if gaze is None or gaze.ndim != 2 or gaze.dtype.names is None:
        return None
    rows, cols = gaze.shape
    if cols == 1 and rows > 1:
        return "2017"
    if rows == 1 and cols > 1:
        return "2015"
    return None


def _mat_edition(src, found: _Found) -> None:
    """Set ``found.edition`` and ``found.evidence`` (docs/datasets_downloads.md §2)."""
    if found.archive is not None:
        md5 = src.md5(found.archive)
        if md5 in PUBLISHED_FIXATION_MD5:
            found.edition = PUBLISHED_FIXATION_MD5[md5]
            found.evidence = (f"MD5 of {found.archive.name} ({md5}) is the published MD5 of the "
                              f"SALICON {found.edition} fixation archive")
            return
    sample = [(split, found.files[split][stem]) for split in sorted(found.files)
              for stem in sorted(found.files[split])[:EDITION_SAMPLE]]
    if found.archive is None:
        blobs = [Path(where).read_bytes() for _, where in sample]
    else:
        got = src.read_members(found.archive, [m for _, m in sample])
        blobs = [got[m] for _, m in sample]
    votes = Counter(_gaze_orientation(b) for b in blobs)
    n17, n15 = votes.get("2017", 0), votes.get("2015", 0)
    counts = ", ".join(f"{len(v)} {s}" for s, v in sorted(found.files.items()))
    if n17 and n15:
        raise LayoutError(f"{found.label}: the sampled .mat files disagree about the edition "
                          f"({n17} store 'gaze' as n x 1 like 2017, {n15} as 1 x n like 2015); "
                          "the folder mixes editions: keep one edition's files only")
    if n17 or n15:
        found.edition = "2017" if n17 else "2015"
        shape = "n x 1" if n17 else "1 x n"
        found.evidence = (f"'gaze' is stored as an {shape} struct array (one element per viewer) "
                          f"in {max(n17, n15)} of {len(blobs)} sampled .mat files, the "
                          f"{found.edition} layout ({counts} .mat files)")
    else:
        found.evidence = (f"none of the {len(blobs)} sampled .mat files holds more than one "
                          f"viewer, so the 'gaze' layout cannot tell the edition ({counts})")


def _choose(src, forced: str | None) -> tuple[str, str, dict]:
    """-> (edition, how it was recognised, {split: _Found}) for the fixations to use."""
    _open_nested(src)
    sets = _scan(src, "mat") + _scan(src, "json")
    for s in sets:
        if s.kind == "json":
            s.edition = "2015"
            names = ", ".join(f"fixations_{sp}2014.json" for sp in sorted(s.files))
            s.evidence = (f"COCO-style fixation annotations {names}, the form of the 2015 "
                          "release only")
        else:
            _mat_edition(src, s)
    if not sets:
        raise LayoutError(f"{src.src}: no SALICON fixations found: neither "
                          "COCO_{train,val}2014_*.mat files (fixations.zip, unpacked or not) "
                          "nor fixations_{train,val}2014.json")
    listing = "; ".join(f"{s.label} -> {s.edition or 'unknown'} ({s.evidence})" for s in sets)
    if forced:
        usable = [s for s in sets if s.edition in (forced, None)]
        if not usable:
            raise LayoutError(f"{src.src}: --edition {forced} given but no fixations of that "
                              f"edition found; found: {listing}")
        for s in usable:
            if s.edition is None:
                s.edition, s.evidence = forced, f"--edition {forced} (content undecided: {s.evidence})"
        edition = forced
    else:
        editions = {s.edition for s in sets}
        if None in editions:
            unknown = next(s for s in sets if s.edition is None)
            raise LayoutError(f"{unknown.label}: cannot tell the SALICON edition of these "
                              f"fixations ({unknown.evidence}); pass --edition 2015 or "
                              "--edition 2017")
        if len(editions) > 1:
            raise LayoutError(f"{src.src}: holds fixations of both SALICON editions, which must "
                              f"not be mixed: {listing}; pass --edition 2015 or --edition 2017")
        edition = editions.pop()
        usable = sets
    usable = [s for s in usable if s.edition == edition]
    # the original 2015 release (JSON) before a .mat copy of it; unpacked before archives
    usable.sort(key=lambda s: (s.kind != "json", s.order))
    chosen = {}
    for split in FIX_SPLITS:
        for s in usable:
            if split in s.files:
                chosen[split] = s
                break
    how = "; ".join(dict.fromkeys(f"{s.label}: {s.evidence}" for s in chosen.values()))
    if forced and "--edition" not in how:
        how = f"--edition {forced}; " + how
    return edition, how, chosen


# ------------------------------------------------------------------------- 2015 JSON
def _json_points(path, report):
    """-> {stem: RawPoints} from a 2015 COCO-style fixation JSON ([row, col], 1-based)."""
    try:
        data = json.loads(Path(path).read_bytes())
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
                       source=f"{Path(path).name} image_id {image_id}")
        stem = im["file_name"].rsplit(".", 1)[0]
        out[stem] = rp
    for image_id in set(per) - set(images):
        report.warn(f"{Path(path).name}: annotations for unknown image id {image_id} ignored")
    return out


# ---------------------------------------------------------------------------- convert
def _first(found: list[_Found], split: str) -> _Found | None:
    return next((f for f in found if split in f.files), None)


def convert(src, root, report, options):
    edition, how, fix_sets = _choose(src, options.get("edition"))
    map_sets = _scan(src, "png")
    hint = _maps_hint(src)
    density_used, maps_meta = {}, {}
    holdout_ids = []
    image_sets = _scan(src, "jpg")
    for split in SPLITS:
        img_set = _first(image_sets, split)
        if img_set is None:
            if split == "test":
                report.warn("no COCO_test2014_*.jpg images found; split 'test' skipped")
                continue
            raise LayoutError(f"{src.src}: no COCO_{split}2014_*.jpg images found (images.zip "
                              "holds images/{train,val,test}/), neither unpacked nor in an "
                              "archive there")
        images = _paths(src, img_set, split)
        if split == "test":
            write_split(root, NAME, split, pair(images), set(), None, report,
                        workers=options.get("workers"))
            continue
        fset = fix_sets.get(split)
        if fset is None:
            raise LayoutError(f"{src.src}: no SALICON {edition} fixations for split '{split}' "
                              f"(found: {', '.join(s.label for s in fix_sets.values())})")
        maps = {}
        map_set = _first(map_sets, split)
        if fset.kind == "json":
            jpath = _paths(src, fset, split)[""]
            points = _json_points(jpath, report)
        else:
            points = {stem: _MatFixations(p) for stem, p in _paths(src, fset, split).items()}
        if edition == "2017" and map_set is not None:
            maps = _paths(src, map_set, split)
            density = "official"
            maps_meta[split] = {"source": map_set.label, "used": True}
        elif edition == "2017":
            present = hint or next((m.label for m in map_sets), None)
            if present:
                raise LayoutError(
                    f"official SALICON maps are present ({present}) but hold no maps for "
                    f"'{split}' (COCO_{split}2014_*.png); the maps archive looks incomplete or "
                    "is not SALICON's: download maps.zip again. Official maps are never "
                    "replaced by computed ones")
            density = "sigma19"
            report.computed_maps.append(split)
            report.warn(f"official maps for '{split}' not found (maps.zip is absent): density "
                        "maps computed with sigma = 19 px (SALICON API); re-run with "
                        "--allow-computed-maps to accept this")
            maps_meta[split] = {"source": None, "used": False,
                                "note": "maps.zip absent: computed with sigma = 19 px"}
        else:
            density = "sigma19"
            if map_set is not None or hint:
                where = map_set.label if map_set is not None else hint
                report.warn(f"maps found at {where} are not used for the 2015 edition: they "
                            "belong to the 2017 release; density maps follow the 2015 SALICON "
                            "API (sigma = 19 px)")
                maps_meta[split] = {"source": where, "used": False,
                                    "note": "2017 maps not used with 2015 fixations"}
        samples = pair(images, None, points)
        if density == "official":
            for s in samples:
                if s.image is not None:
                    s.fixmap = maps.get(s.id)
                    if s.fixmap is None:
                        s.problem = f"image without its official map {split}/{s.id}.png"
            for stem in sorted(set(maps) - set(images)):  # reported on their own
                samples.append(Sample(id=stem, image=None, fixmap=maps[stem]))
        extra = None
        if split == "val":
            ok = [s.id for s in samples if s.image is not None]
            holdout_ids = holdout(ok)
            extra = {HOLDOUT_LIST: holdout_ids}
        write_split(root, NAME, split, samples, {"fix"}, density, report, extra_lists=extra,
                    workers=options.get("workers"))
        if split in report.computed_maps:
            report.fixmap_source[split] = "computed sigma=19 (NO official maps)"
        density_used[split] = density
    return {"density_key": density_used.get("train", density_used.get("val")),
            "edition": edition, "edition_recognised_by": how,
            "fixations_source": {sp: s.label for sp, s in sorted(fix_sets.items())},
            "maps": maps_meta, "density_per_split": density_used,
            "holdout": {"file": f"val/{HOLDOUT_LIST}", "size": HOLDOUT_SIZE, "seed": HOLDOUT_SEED,
                        "rule": "numpy.random.default_rng(seed).choice over the sorted val ids, "
                                "then sorted"}}
