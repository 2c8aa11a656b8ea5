"""Miniature raw copies of the eight datasets, built as the real downloads are
(docs/datasets.md §1-§8, docs/datasets_downloads.md §6).

Each dataset is first described as its archives, ``{archive name: {member path: bytes}}``
with the member paths the real archive has (e.g. SALICON's ``fixations.zip`` holds
``train/...`` and ``val/...`` at its top). :func:`materialize` then lays every archive
down in one of the ways users have it:

* ``"zip"``: the archive file as downloaded (``.zip``, or a real ``.rar`` for HKU-IS,
  written by :func:`rar4_bytes`);
* ``"into"``: unpacked into a folder named after the archive (what "Extract to X/" and
  macOS do), so ``fixations.zip`` -> ``fixations/train/...`` and ``MSRA10K_Imgs_GT.zip``
  -> ``MSRA10K_Imgs_GT/MSRA10K_Imgs_GT/Imgs/``;
* ``"here"``: unpacked where the archive is (``unzip x.zip``), so SALICON's
  ``fixations.zip`` and ``maps.zip`` merge into one ``train/`` folder.

Each ``make_*`` writes into a given folder and returns what the tests need to know
(ids, sizes, the fixations planted). Images are tiny (about 40 x 30 px) so the whole
data_prep suite stays fast. Helpers here write files exactly as the authors' tools do:
MATLAB v5 files with scipy, v7.3 (HDF5) files with h5py the way MATLAB lays them out,
JPEG with OpenCV, palette PNGs and RAR archives by hand (no PIL, no rar tool needed).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import cv2
import h5py
import numpy as np
import scipy.io

W, H = 40, 30  # default landscape test image: 40 columns, 30 rows


# ------------------------------------------------------------------ file writers
def rgb_image(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """Deterministic smooth BGR test image (smooth so JPEG is well behaved)."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(30, 220, (3, 4, 3)).astype(np.float32)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.uint8)


def jpeg_bytes(arr: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", arr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png_bytes(arr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", arr)
    assert ok
    return buf.tobytes()


def write(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def palette_png(indices: np.ndarray, palette: list[tuple[int, int, int]]) -> bytes:
    """An 8-bit palette PNG (colour type 3) of ``indices`` (H, W) uint8, written by hand."""
    h, w = indices.shape

    def chunk(kind, body):
        crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        return struct.pack(">I", len(body)) + kind + body + crc

    raw = b"".join(b"\x00" + indices[r].astype(np.uint8).tobytes() for r in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", bytes(v for c in palette for v in c))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zip_folder(folder: Path, archive: Path, arc_root: str | None = None,
               extra: dict | None = None) -> Path:
    """Zip ``folder`` (members under ``arc_root/``, default the folder name), plus
    ``extra`` {member name: bytes} (e.g. ``__MACOSX`` debris)."""
    folder = Path(folder)
    arc_root = folder.name if arc_root is None else arc_root
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{arc_root}/{p.relative_to(folder).as_posix()}".lstrip("/"))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return archive


def mask_array(h: int = H, w: int = W, box=(5, 8, 20, 25)) -> np.ndarray:
    """0/255 mask with a filled rectangle rows box[0]:box[1]... (r0, r1, c0, c1)."""
    m = np.zeros((h, w), np.uint8)
    r0, r1, c0, c1 = box
    m[r0:r1, c0:c1] = 255
    return m


def matlab_v73(path: Path, cells: dict[str, list[np.ndarray]], matrices: dict[str, np.ndarray]) -> None:
    """Write a MATLAB v7.3 MAT-file the way MATLAB does: HDF5 with a 512-byte user block,
    arrays stored transposed, cell arrays as datasets of object references into ``#refs#``,
    empty arrays as a 2-element uint64 placeholder with ``MATLAB_empty = 1``."""
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        for name, items in cells.items():
            ref_list = []
            for k, arr in enumerate(items):
                arr = np.asarray(arr, np.float64)
                if arr.size == 0:
                    d = refs.create_dataset(f"{name}_{k}", data=np.array([0, 3], np.uint64))
                    d.attrs["MATLAB_empty"] = np.uint8(1)
                else:
                    d = refs.create_dataset(f"{name}_{k}", data=arr.T)  # MATLAB N x 3 -> 3 x N
                d.attrs["MATLAB_class"] = np.bytes_("double")
                ref_list.append(d.ref)
            ds = f.create_dataset(name, data=np.array([ref_list], dtype=h5py.ref_dtype))  # (1, n)
            ds.attrs["MATLAB_class"] = np.bytes_("cell")
        for name, arr in matrices.items():
            d = f.create_dataset(name, data=np.asarray(arr, np.float64).T)
            d.attrs["MATLAB_class"] = np.bytes_("double")
    header = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, "
              b"Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 .")
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")


def salicon_gaze(viewers: list[np.ndarray]) -> np.ndarray:
    """SALICON 2017 ``gaze`` struct array (n, 1) with fields location, timestamp, fixations."""
    gaze = np.empty((len(viewers), 1), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    for i, fx in enumerate(viewers):
        fx = np.asarray(fx, np.float64).reshape(-1, 2)
        gaze[i, 0]["location"] = fx.copy()
        gaze[i, 0]["timestamp"] = np.arange(len(fx), dtype=np.float64).reshape(-1, 1)
        gaze[i, 0]["fixations"] = fx if len(fx) else np.zeros((0, 0))
    return gaze


# ------------------------------------------------------------------ archives as downloaded
def rar4_bytes(members: dict[str, bytes]) -> bytes:
    """A real RAR 4.x archive (format of RAR 1.5-4.x, as WinRAR writes it) holding
    ``members`` stored uncompressed (method 0x30), with Windows host and ``\\`` paths
    like HKU-IS.rar. No RAR writer exists as free software, so the blocks are written
    by hand from the published format: marker, archive header (0x73), one file header
    (0x74) + data per member, end of archive (0x7B); each header carries the low 16
    bits of the CRC-32 of its bytes after the CRC field. Tests read it back with
    libarchive and rarfile, two independent readers."""

    def block(htype: int, flags: int, body: bytes) -> bytes:
        rest = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest

    dos_time = (38 << 25) | (1 << 21) | (1 << 16)  # 2018-01-01 00:00:00
    out = bytearray(b"Rar!\x1a\x07\x00") + block(0x73, 0, b"\x00" * 6)
    for name, data in members.items():
        raw_name = name.replace("/", "\\").encode()
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 2, zlib.crc32(data), dos_time,
                           20, 0x30, len(raw_name), 0x20) + raw_name
        out += block(0x74, 0x8000, body) + data  # 0x8000: a data area follows the header
    return bytes(out + block(0x7B, 0x4000, b""))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2018, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def archive_bytes(name: str, members: dict[str, bytes]) -> bytes:
    return rar4_bytes(members) if name.lower().endswith(".rar") else zip_bytes(members)


def _stem(archive: str) -> str:
    for suffix in (".zip", ".rar"):
        if archive.lower().endswith(suffix):
            return archive[: -len(suffix)]
    return archive


def materialize(root: Path, archives: dict[str, dict[str, bytes]], layout="zip") -> Path:
    """Lay ``archives`` down under ``root``: ``layout`` is ``"zip"``, ``"into"`` or
    ``"here"`` (module docstring), or a dict giving one of these per archive name.
    Members that are archives themselves (DUT-OMRON's ``.zip.zip``) stay archives."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, members in archives.items():
        how = layout.get(name, "zip") if isinstance(layout, dict) else layout
        if how == "zip":
            write(root / name, archive_bytes(name, members))
            continue
        base = root / _stem(name) if how == "into" else root
        for member, data in members.items():
            write(base / member, data)
    return root


def mat_bytes(variables: dict) -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, variables)
    return buf.getvalue()


def mat_v73_bytes(cells, matrices) -> bytes:
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.mat"
        matlab_v73(path, cells, matrices)
        return path.read_bytes()


# ----------------------------------------------------------------------- datasets
SALICON_STEMS = {"train": ["COCO_train2014_000000000001", "COCO_train2014_000000000002"],
                 "val": ["COCO_val2014_000000000003", "COCO_val2014_000000000004"],
                 "test": ["COCO_test2014_000000000005"]}
SALICON_FIX = {
    "COCO_train2014_000000000001": [np.array([[5, 3], [41, 10]]), np.array([[40, 30]])],
    "COCO_train2014_000000000002": [np.array([[1, 1]]), np.zeros((0, 2))],
    "COCO_val2014_000000000003": [np.array([[20, 15]]), np.array([[21, 16]])],
    "COCO_val2014_000000000004": [np.array([[10, 5], [11, 6]]), np.zeros((0, 2))],
}


def salicon_archives(edition: str = "2017", maps: bool = True) -> dict:
    """The SALICON downloads: ``images.zip`` (``images/{train,val,test}/``), and the
    fixation archive ``fixations.zip`` with ``train/`` and ``val/`` at its top, one
    ``.mat`` per image (``gaze`` n x 1 for 2017, 1 x n for the 2015 .mat edition);
    for 2017 also ``maps.zip`` (``train/``, ``val/`` at its top, grey PNG maps)."""
    images, fixations, maps_ = {}, {}, {}
    for i, (split, stems) in enumerate(SALICON_STEMS.items()):
        for j, stem in enumerate(stems):
            images[f"images/{split}/{stem}.jpg"] = jpeg_bytes(rgb_image(10 * i + j))
            if split == "test":
                continue
            gaze = salicon_gaze(SALICON_FIX[stem])
            if edition == "2015":
                gaze = gaze.T  # 1 x n
            fixations[f"{split}/{stem}.mat"] = mat_bytes(
                {"image": stem, "resolution": np.array([[H, W]], np.uint16), "gaze": gaze})
            m = np.zeros((H, W), np.uint8)
            m[10:20, 10:20] = 100
            m[15, 15] = 200  # official map, max 200 -> rescaled to 255
            maps_[f"{split}/{stem}.png"] = png_bytes(m)
    out = {"images.zip": images, "fixations.zip": fixations}
    if maps and edition == "2017":
        out["maps.zip"] = maps_
    return out


SALICON_UNPACKED = {"images.zip": "here", "fixations.zip": "into", "maps.zip": "into"}


def make_salicon_2017(root: Path, layout=None, maps: bool = True) -> dict:
    """SALICON 2017 downloads laid down by :func:`materialize` (default
    :data:`SALICON_UNPACKED`: ``images/{train,val,test}``, ``fixations/{train,val}``,
    ``maps/{train,val}``). Planted: COCO_train2014_000000000001 viewer 0 fixates 1-based
    (x=5, y=3) and (x=41, y=10) (outside: W = 40), viewer 1 (x=40, y=30)."""
    materialize(root, salicon_archives("2017", maps), layout or SALICON_UNPACKED)
    return {"stems": SALICON_STEMS, "fix": SALICON_FIX}


def make_salicon_2015_mat(root: Path, layout="zip", name: str = "fixations.zip",
                          images: bool = True) -> dict:
    """The 2015 edition as per-image ``.mat`` files (``gaze`` 1 x n), ``train/``,
    ``val/`` at the archive's top, named ``name``; plus ``images.zip`` if ``images``."""
    arch = salicon_archives("2015", maps=False)
    out = {name: arch["fixations.zip"]}
    if images:
        out["images.zip"] = arch["images.zip"]
    materialize(root, out, layout)
    return {"stems": SALICON_STEMS, "fix": SALICON_FIX}


def make_salicon_2015(root: Path) -> dict:
    """2015 edition: ``train.zip``/``val.zip`` of images + ``fixations_{train,val}2014.json``
    with [row, col] 1-based pairs. Planted: train image 1, worker 7 fixates (row 3, col 5)."""
    root = Path(root)
    data, archives = {}, {}
    for split, (stem, image_id, fixes) in {
        "train": ("COCO_train2014_000000000011", 11, [[3, 5], [30, 40]]),
        "val": ("COCO_val2014_000000000012", 12, [[1, 1]]),
    }.items():
        archives[f"{split}.zip"] = {f"{split}/{stem}.jpg": jpeg_bytes(rgb_image(image_id))}
        doc = {"info": {}, "licenses": [], "type": "fixations",
               "images": [{"id": image_id, "file_name": f"{stem}.jpg", "width": W, "height": H}],
               "annotations": [{"id": 1, "image_id": image_id, "worker_id": 7, "fixations": fixes}]}
        write(root / f"fixations_{split}2014.json", json.dumps(doc).encode())
        data[split] = (stem, fixes)
    materialize(root, archives, "zip")
    return data


def thus10k_archives() -> tuple[dict, dict]:
    """``MSRA10K_Imgs_GT.zip`` -> ``MSRA10K_Imgs_GT/Imgs/{1,7,12}.{jpg,png}``."""
    members, masks = {}, {}
    for k, stem in enumerate(["1", "7", "12"]):
        members[f"MSRA10K_Imgs_GT/Imgs/{stem}.jpg"] = jpeg_bytes(rgb_image(100 + k))
        masks[stem] = mask_array(box=(2 + k, 20, 3, 30 - k))
        members[f"MSRA10K_Imgs_GT/Imgs/{stem}.png"] = png_bytes(masks[stem])
    return {"MSRA10K_Imgs_GT.zip": members}, masks


def make_thus10k(root: Path, as_zip: bool = True, layout: str | None = None) -> dict:
    """``MSRA10K_Imgs_GT.zip`` as downloaded (``as_zip``) or laid down by ``layout``;
    ``"into"`` gives the common doubled ``MSRA10K_Imgs_GT/MSRA10K_Imgs_GT/Imgs/``."""
    archives, masks = thus10k_archives()
    materialize(root, archives, layout or ("zip" if as_zip else "here"))
    return {"masks": masks}


DUT_STEMS = ["im001", "im002"]
DUT_FIX = {"im001": np.array([[W, H, 0], [4, 2, 1], [40, 5, 2], [60, 5, 3], [0, 0, 4]], np.float64),
           "im002": np.array([[W, H, 0], [10, 10, 1], [11, 12, 2]], np.float64)}


def dut_omron_archives() -> dict:
    """``DUT-OMRON-image.zip`` (``DUT-OMRON-image/``, with a ``._`` twin),
    ``DUT-OMRON-gt-pixelwise.zip.zip`` (a zip holding ``DUT-OMRON-gt-pixelwise.zip``,
    which holds ``pixelwiseGT-new-PNG/`` and ``__MACOSX/``), ``DUT-OMRON-eye-fixations.zip``
    (``DUT-OMRON-eye-fixations/mat/<stem>.mat``, ``s`` = [[W, H, 0], [x, y, subject]…])."""
    img, gt, eye = {}, {}, {}
    for k, stem in enumerate(DUT_STEMS):
        img[f"DUT-OMRON-image/{stem}.jpg"] = jpeg_bytes(rgb_image(200 + k))
        gt[f"pixelwiseGT-new-PNG/{stem}.png"] = png_bytes(mask_array(box=(4, 20, 6, 30)))
        eye[f"DUT-OMRON-eye-fixations/mat/{stem}.mat"] = mat_bytes({"s": DUT_FIX[stem]})
    img["DUT-OMRON-image/._im001.jpg"] = b"\x00\x05\x16\x07 resource fork"
    gt["__MACOSX/pixelwiseGT-new-PNG/._im001.png"] = b"junk"
    return {"DUT-OMRON-image.zip": img,
            "DUT-OMRON-gt-pixelwise.zip.zip": {"DUT-OMRON-gt-pixelwise.zip": zip_bytes(gt)},
            "DUT-OMRON-eye-fixations.zip": eye}


def make_dut_omron(root: Path, zipped: bool = False, layout: str | None = None) -> dict:
    """DUT-OMRON downloads, as archives (``zipped``), unpacked in place (default: the
    folders ``DUT-OMRON-image/``, ``pixelwiseGT-new-PNG/`` + ``__MACOSX/``,
    ``DUT-OMRON-eye-fixations/mat/``), or by ``layout``.
    Planted in im001: (x=4, y=2, subject 1), (x=40, y=5, s 2) -> clipped to col 39,
    (x=60, y=5, s 3) -> dropped, (x=0, y=0, s 4) -> pixel (0, 0)."""
    root = Path(root)
    archives = dut_omron_archives()
    if layout is None and not zipped:  # fully unpacked, debris kept
        gt = zipfile.ZipFile(io.BytesIO(archives["DUT-OMRON-gt-pixelwise.zip.zip"]
                                        ["DUT-OMRON-gt-pixelwise.zip"]))
        for name, members in (("img", archives["DUT-OMRON-image.zip"]),
                              ("gt", {n: gt.read(n) for n in gt.namelist()}),
                              ("eye", archives["DUT-OMRON-eye-fixations.zip"])):
            for member, data in members.items():
                write(root / member, data)
    else:
        materialize(root, archives, layout or "zip")
    return {"stems": DUT_STEMS, "fix": DUT_FIX}


def pascal_s_archives() -> tuple[dict, dict]:
    """``salObj.zip`` with the benchmark's folders at its top: ``datasets/imgs/pascal/
    {1,2,3}.jpg``, grey-level masks ``datasets/masks/pascal/*.png``, v7.3
    ``datasets/fixations/pascalFix.mat`` (fixCell, [row, col, subj], 1-based) and
    ``pascalSize.mat`` (sizeData [H, W]); also other sets (``ft``, ``bruce``) that must
    be ignored. Image 2 is portrait (H=40, W=30); image 3 has an empty cell."""
    m = {}
    sizes = [(H, W), (W, H), (H, W)]
    grey = np.zeros((H, W), np.uint8)
    grey[:, 10:20] = 85
    grey[:, 20:25] = 127
    grey[:, 25:30] = 128
    grey[:, 30:35] = 170
    grey[:, 35:40] = 255
    for i, (h, w) in enumerate(sizes, start=1):
        m[f"datasets/imgs/pascal/{i}.jpg"] = jpeg_bytes(rgb_image(300 + i, h, w))
        mask = grey if (h, w) == (H, W) else np.full((h, w), 170, np.uint8)
        m[f"datasets/masks/pascal/{i}.png"] = png_bytes(mask)
    m["datasets/imgs/ft/1.jpg"] = jpeg_bytes(rgb_image(399))
    m["datasets/masks/ft/1.png"] = png_bytes(np.zeros((H, W), np.uint8))
    cells = [np.array([[3, 5, 1], [30, 40, 2], [31, 5, 2]]),  # (row, col, subj): last one outside (H=30)
             np.array([[40, 30, 1]]),                          # portrait: bottom-right pixel
             np.zeros((0, 3))]
    m["datasets/fixations/pascalFix.mat"] = mat_v73_bytes({"fixCell": cells}, {})
    m["datasets/fixations/pascalSize.mat"] = mat_v73_bytes({}, {"sizeData": np.array(sizes, np.float64)})
    m["datasets/fixations/bruceFix.mat"] = mat_v73_bytes({"fixCell": [np.array([[1, 1, 1]])]}, {})
    m["code/README.txt"] = b"benchmark code (not used)"
    return {"salObj.zip": m}, {"sizes": sizes, "cells": cells, "grey": grey}


def make_pascal_s(root: Path, layout: str = "here") -> dict:
    """PASCAL-S from ``salObj.zip`` (default: unpacked in place, ``datasets/…``)."""
    archives, info = pascal_s_archives()
    materialize(root, archives, layout)
    return info


MIT_STEM = "i05june05_static_street_boston_p1010764"
MIT_POINTS = {MIT_STEM: [(3, 5), (20, 30)], "i1000": [(10, 10)]}


def mit1003_archives() -> dict:
    """``ALLSTIMULI.zip`` -> ``ALLSTIMULI/<stem>.jpeg``; ``ALLFIXATIONMAPS.zip`` ->
    ``ALLFIXATIONMAPS/<stem>_fixMap.jpg`` and ``<stem>_fixPts.jpg`` (JPEG: points
    smeared), plus the stray ``…p1010764fixPts.jpg`` (no underscore) and a ``.DS_Store``.
    Points (row, col)."""
    stim, maps = {}, {}
    for k, stem in enumerate(MIT_POINTS):
        stim[f"ALLSTIMULI/{stem}.jpeg"] = jpeg_bytes(rgb_image(400 + k))
        pts = np.zeros((H, W), np.uint8)
        for r, c in MIT_POINTS[stem]:
            pts[r, c] = 255
        maps[f"ALLFIXATIONMAPS/{stem}_fixPts.jpg"] = jpeg_bytes(pts, 75)
        fm = cv2.GaussianBlur(pts.astype(np.float32), (0, 0), 3)
        fm = (fm / fm.max() * 180).astype(np.uint8)
        maps[f"ALLFIXATIONMAPS/{stem}_fixMap.jpg"] = jpeg_bytes(fm)
    maps[f"ALLFIXATIONMAPS/{MIT_STEM}fixPts.jpg"] = jpeg_bytes(np.full((H, W), 255, np.uint8))
    maps["ALLFIXATIONMAPS/.DS_Store"] = b"\x00"
    return {"ALLSTIMULI.zip": stim, "ALLFIXATIONMAPS.zip": maps}


def make_mit1003(root: Path, layout=None) -> dict:
    """MIT1003 downloads (default: ``ALLSTIMULI.zip`` unpacked into a folder named after
    it, giving the doubled ``ALLSTIMULI/ALLSTIMULI/``; ``ALLFIXATIONMAPS.zip`` in place)."""
    materialize(root, mit1003_archives(),
                layout or {"ALLSTIMULI.zip": "into", "ALLFIXATIONMAPS.zip": "here"})
    return {"stems": list(MIT_POINTS), "points": MIT_POINTS}


def ecssd_archives() -> tuple[dict, dict]:
    """``images.zip`` -> ``images/0001.jpg…``; ``ground_truth_mask.zip`` ->
    ``ground_truth_mask/0001.png…``."""
    img, gt, masks = {}, {}, {}
    for k, stem in enumerate(["0001", "0002"]):
        img[f"images/{stem}.jpg"] = jpeg_bytes(rgb_image(500 + k))
        masks[stem] = mask_array(box=(1, 10 + k, 2, 12))
        gt[f"ground_truth_mask/{stem}.png"] = png_bytes(masks[stem])
    return {"images.zip": img, "ground_truth_mask.zip": gt}, masks


def make_ecssd(root: Path, as_zip: bool = True, layout: str | None = None) -> dict:
    archives, masks = ecssd_archives()
    materialize(root, archives, layout or ("zip" if as_zip else "here"))
    return {"masks": masks}


HKU_STEMS = ["0004", "0005", "0010"]


def hku_is_archives() -> dict:
    """``HKU-IS.rar`` -> ``HKU-IS/imgs/*.png`` (PNG images), ``HKU-IS/gt/*.png`` and the
    MDF lists: ``trainImgSet.mat`` as a char matrix, ``valImgSet.mat`` and
    ``testImgSet.mat`` as cell arrays of file names with extension."""
    m = {}
    for k, stem in enumerate(HKU_STEMS):
        m[f"HKU-IS/imgs/{stem}.png"] = png_bytes(rgb_image(600 + k))
        m[f"HKU-IS/gt/{stem}.png"] = png_bytes(mask_array(box=(0, 5, 0, 5 + k)))
    m["HKU-IS/trainImgSet.mat"] = mat_bytes({"trainImgSet": np.array(["0004.png", "0010.png"])})
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = "0005.png"
    m["HKU-IS/valImgSet.mat"] = mat_bytes({"valImgSet": cell})
    m["HKU-IS/testImgSet.mat"] = mat_bytes({"testImgSet": np.empty((0, 1), dtype=object)})
    return {"HKU-IS.rar": m}


def make_hku_is(root: Path, layout: str = "here") -> dict:
    """HKU-IS (default: ``HKU-IS.rar`` unpacked in place, ``HKU-IS/…``; ``"zip"``
    writes the real ``HKU-IS.rar``)."""
    materialize(root, hku_is_archives(), layout)
    return {"stems": HKU_STEMS}


DUTS_STEMS = {"train": ["ILSVRC2012_test_00000004", "n01440764_1"], "test": ["sun_aaaa"]}


def duts_archives(pre2018: bool = False) -> dict:
    """``DUTS-TR.zip`` -> ``DUTS-TR/DUTS-TR-{Image,Mask}/``, ``DUTS-TE.zip`` likewise.
    With ``pre2018`` the defects of copies downloaded before 2018-01-22 are planted
    (docs/datasets_downloads.md §3): in DUTS-TR-Mask, ``ILSVRC2014_train_00023530.png``
    is broken (not an image) and the right mask sits beside it as ``.jpg``; in DUTS-TE,
    ``ILSVRC2012_test_00036002``'s image is 40 px high but its mask 30 px."""
    out = {}
    for tag, stems in (("TR", DUTS_STEMS["train"]), ("TE", DUTS_STEMS["test"])):
        m = {}
        for k, stem in enumerate(stems):
            m[f"DUTS-{tag}/DUTS-{tag}-Image/{stem}.jpg"] = jpeg_bytes(rgb_image(700 + k))
            m[f"DUTS-{tag}/DUTS-{tag}-Mask/{stem}.png"] = png_bytes(mask_array())
        out[f"DUTS-{tag}.zip"] = m
    if pre2018:
        tr, te = out["DUTS-TR.zip"], out["DUTS-TE.zip"]
        stem = "ILSVRC2014_train_00023530"
        tr[f"DUTS-TR/DUTS-TR-Image/{stem}.jpg"] = jpeg_bytes(rgb_image(790))
        tr[f"DUTS-TR/DUTS-TR-Mask/{stem}.png"] = b"\x89PNG\r\n\x1a\n broken"
        tr[f"DUTS-TR/DUTS-TR-Mask/{stem}.jpg"] = jpeg_bytes(mask_array(box=(2, 12, 3, 13)), 95)
        stem = "ILSVRC2012_test_00036002"
        te[f"DUTS-TE/DUTS-TE-Image/{stem}.jpg"] = jpeg_bytes(rgb_image(791, 40, 40))
        te[f"DUTS-TE/DUTS-TE-Mask/{stem}.png"] = png_bytes(mask_array())
    return out


def make_duts(root: Path, layout=None, pre2018: bool = False) -> dict:
    """DUTS (default: ``DUTS-TR.zip`` as downloaded, ``DUTS-TE.zip`` unpacked in place)."""
    materialize(root, duts_archives(pre2018), layout or {"DUTS-TR.zip": "zip", "DUTS-TE.zip": "here"})
    return {"stems": DUTS_STEMS}


#: For the layout tests: dataset -> (make function, {split: sorted ids expected}).
ALL_DATASETS = {
    "salicon": (lambda root, layout: make_salicon_2017(root, layout),
                {k: sorted(v) for k, v in SALICON_STEMS.items()}),
    "thus10k": (lambda root, layout: make_thus10k(root, layout=layout), {"train": ["1", "12", "7"]}),
    "dut-omron": (lambda root, layout: make_dut_omron(root, layout=layout), {"train": DUT_STEMS}),
    "pascal-s": (lambda root, layout: make_pascal_s(root, layout), {"test": ["1", "2", "3"]}),
    "mit1003": (lambda root, layout: make_mit1003(root, layout), {"test": sorted(MIT_POINTS)}),
    "ecssd": (lambda root, layout: make_ecssd(root, layout=layout), {"test": ["0001", "0002"]}),
    "hku-is": (lambda root, layout: make_hku_is(root, layout), {"test": HKU_STEMS}),
    "duts": (lambda root, layout: make_duts(root, layout), {k: sorted(v) for k, v in DUTS_STEMS.items()}),
}

#: The archives each dataset is downloaded as (for the layout tests).
ALL_ARCHIVES = {
    "salicon": ["images.zip", "fixations.zip", "maps.zip"],
    "thus10k": ["MSRA10K_Imgs_GT.zip"],
    "dut-omron": ["DUT-OMRON-image.zip", "DUT-OMRON-gt-pixelwise.zip.zip",
                  "DUT-OMRON-gt-pixelwise.zip", "DUT-OMRON-eye-fixations.zip"],
    "pascal-s": ["salObj.zip"],
    "mit1003": ["ALLSTIMULI.zip", "ALLFIXATIONMAPS.zip"],
    "ecssd": ["images.zip", "ground_truth_mask.zip"],
    "hku-is": ["HKU-IS.rar"],
    "duts": ["DUTS-TR.zip", "DUTS-TE.zip"],
}
