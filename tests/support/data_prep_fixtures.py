"""Miniature raw copies of the eight datasets, laid out as DATASETS.md §1-§8 describe.

Each ``make_*`` writes into a given folder and returns what the tests need to know
(ids, sizes, the fixations planted). Images are tiny (about 40 x 30 px) so the whole
data_prep suite stays fast. Helpers here write files exactly as the authors' tools do:
MATLAB v5 files with scipy, v7.3 (HDF5) files with h5py the way MATLAB lays them out,
JPEG with OpenCV, palette PNGs by hand (no PIL needed).
"""

from __future__ import annotations

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


# ----------------------------------------------------------------------- datasets
def make_salicon_2017(root: Path) -> dict:
    """``images/{train,val,test}``, ``fixations/{train,val}`` (.mat v5), ``maps/{train,val}``.
    Planted: COCO_train2014_000000000001 viewer 0 fixates 1-based (x=5, y=3) and
    (x=41, y=10) (outside: W = 40), viewer 1 (x=40, y=30) (bottom-right pixel)."""
    root = Path(root)
    stems = {"train": ["COCO_train2014_000000000001", "COCO_train2014_000000000002"],
             "val": ["COCO_val2014_000000000003", "COCO_val2014_000000000004"],
             "test": ["COCO_test2014_000000000005"]}
    fix = {
        "COCO_train2014_000000000001": [np.array([[5, 3], [41, 10]]), np.array([[40, 30]])],
        "COCO_train2014_000000000002": [np.array([[1, 1]]), np.zeros((0, 2))],
        "COCO_val2014_000000000003": [np.array([[20, 15]])],
        "COCO_val2014_000000000004": [np.array([[10, 5], [11, 6]])],
    }
    for i, (split, ss) in enumerate(stems.items()):
        for j, stem in enumerate(ss):
            write(root / "images" / split / f"{stem}.jpg", jpeg_bytes(rgb_image(10 * i + j)))
            if split == "test":
                continue
            (root / "fixations" / split).mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(root / "fixations" / split / f"{stem}.mat",
                             {"image": stem, "resolution": np.array([[H, W]], np.uint16),
                              "gaze": salicon_gaze(fix[stem])})
            m = np.zeros((H, W), np.uint8)
            m[10:20, 10:20] = 100
            m[15, 15] = 200  # official map, max 200 -> rescaled to 255
            write(root / "maps" / split / f"{stem}.png", png_bytes(m))
    return {"stems": stems, "fix": fix}


def make_salicon_2015(root: Path) -> dict:
    """2015 edition: ``train.zip``/``val.zip`` of images + ``fixations_{train,val}2014.json``
    with [row, col] 1-based pairs. Planted: train image 1, worker 7 fixates (row 3, col 5)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, (stem, image_id, fixes) in {
        "train": ("COCO_train2014_000000000011", 11, [[3, 5], [30, 40]]),
        "val": ("COCO_val2014_000000000012", 12, [[1, 1]]),
    }.items():
        tmp = root / f"_{split}"
        write(tmp / split / f"{stem}.jpg", jpeg_bytes(rgb_image(image_id)))
        zip_folder(tmp / split, root / f"{split}.zip", arc_root=split)
        doc = {"info": {}, "licenses": [], "type": "fixations",
               "images": [{"id": image_id, "file_name": f"{stem}.jpg", "width": W, "height": H}],
               "annotations": [{"id": 1, "image_id": image_id, "worker_id": 7, "fixations": fixes}]}
        (root / f"fixations_{split}2014.json").write_text(json.dumps(doc))
        data[split] = (stem, fixes)
        import shutil
        shutil.rmtree(tmp)
    return data


def make_thus10k(root: Path, as_zip: bool = True) -> dict:
    """``MSRA10K_Imgs_GT.zip`` -> ``MSRA10K_Imgs_GT/MSRA10K_Imgs_GT/Imgs/{1,7,12}.{jpg,png}``
    (the common doubled folder)."""
    root = Path(root)
    build = root / "_build" / "MSRA10K_Imgs_GT" / "Imgs"
    masks = {}
    for k, stem in enumerate(["1", "7", "12"]):
        write(build / f"{stem}.jpg", jpeg_bytes(rgb_image(100 + k)))
        masks[stem] = mask_array(box=(2 + k, 20, 3, 30 - k))
        write(build / f"{stem}.png", png_bytes(masks[stem]))
    if as_zip:
        zip_folder(build.parent, root / "MSRA10K_Imgs_GT.zip",
                   arc_root="MSRA10K_Imgs_GT/MSRA10K_Imgs_GT")
        import shutil
        shutil.rmtree(root / "_build")
    return {"masks": masks}


def make_dut_omron(root: Path, zipped: bool = False) -> dict:
    """``DUT-OMRON-image/``, ``pixelwiseGT-new-PNG/`` (+ ``__MACOSX``), ``DUT-OMRON-eye-
    fixations/mat/<stem>.mat`` with ``s`` = [[W, H, 0], [x, y, subject]…], 0-based.
    Planted in im001: (x=4, y=2, subject 1), (x=40, y=5, s 2) -> clipped to col 39,
    (x=60, y=5, s 3) -> dropped, (x=0, y=0, s 4) -> pixel (0, 0)."""
    root = Path(root)
    stems = ["im001", "im002"]
    fix = {"im001": np.array([[W, H, 0], [4, 2, 1], [40, 5, 2], [60, 5, 3], [0, 0, 4]], np.float64),
           "im002": np.array([[W, H, 0], [10, 10, 1], [11, 12, 2]], np.float64)}
    for k, stem in enumerate(stems):
        write(root / "DUT-OMRON-image" / f"{stem}.jpg", jpeg_bytes(rgb_image(200 + k)))
        write(root / "pixelwiseGT-new-PNG" / f"{stem}.png", png_bytes(mask_array(box=(4, 20, 6, 30))))
        (root / "DUT-OMRON-eye-fixations" / "mat").mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / "DUT-OMRON-eye-fixations" / "mat" / f"{stem}.mat", {"s": fix[stem]})
    write(root / "DUT-OMRON-image" / "._im001.jpg", b"\x00\x05\x16\x07 resource fork")
    write(root / "__MACOSX" / "pixelwiseGT-new-PNG" / "._im001.png", b"junk")
    if zipped:
        import shutil
        zip_folder(root / "DUT-OMRON-image", root / "DUT-OMRON-image.zip")
        inner = root / "DUT-OMRON-gt-pixelwise.zip"
        zip_folder(root / "pixelwiseGT-new-PNG", inner,
                   extra={"__MACOSX/pixelwiseGT-new-PNG/._im001.png": b"junk"})
        with zipfile.ZipFile(root / "DUT-OMRON-gt-pixelwise.zip.zip", "w") as zf:
            zf.write(inner, inner.name)
        inner.unlink()
        zip_folder(root / "DUT-OMRON-eye-fixations", root / "DUT-OMRON-eye-fixations.zip")
        for d in ("DUT-OMRON-image", "pixelwiseGT-new-PNG", "DUT-OMRON-eye-fixations", "__MACOSX"):
            shutil.rmtree(root / d)
    return {"stems": stems, "fix": fix}


def make_pascal_s(root: Path) -> dict:
    """salObj tree: ``datasets/imgs/pascal/{1,2,3}.jpg``, grey-level masks
    ``datasets/masks/pascal/*.png``, v7.3 ``pascalFix.mat`` (fixCell, [row, col, subj],
    1-based) and ``pascalSize.mat`` (sizeData [H, W]); also other sets (``ft``, ``bruce``)
    that must be ignored. Image 2 is portrait (40 x 30: H=40, W=30); image 3 has an empty cell."""
    root = Path(root)
    ds = root / "datasets"
    sizes = [(H, W), (W, H), (H, W)]
    grey = np.zeros((H, W), np.uint8)
    grey[:, 0:10] = 0
    grey[:, 10:20] = 85
    grey[:, 20:25] = 127
    grey[:, 25:30] = 128
    grey[:, 30:35] = 170
    grey[:, 35:40] = 255
    for i, (h, w) in enumerate(sizes, start=1):
        write(ds / "imgs" / "pascal" / f"{i}.jpg", jpeg_bytes(rgb_image(300 + i, h, w)))
        m = grey if (h, w) == (H, W) else np.full((h, w), 170, np.uint8)
        write(ds / "masks" / "pascal" / f"{i}.png", png_bytes(m))
    write(ds / "imgs" / "ft" / "1.jpg", jpeg_bytes(rgb_image(399)))
    write(ds / "masks" / "ft" / "1.png", png_bytes(np.zeros((H, W), np.uint8)))
    cells = [np.array([[3, 5, 1], [30, 40, 2], [31, 5, 2]]),  # (row, col, subj): last one outside (H=30)
             np.array([[40, 30, 1]]),                          # portrait: bottom-right pixel
             np.zeros((0, 3))]
    (ds / "fixations").mkdir(parents=True, exist_ok=True)
    matlab_v73(ds / "fixations" / "pascalFix.mat", {"fixCell": cells}, {})
    matlab_v73(ds / "fixations" / "pascalSize.mat", {}, {"sizeData": np.array(sizes, np.float64)})
    matlab_v73(ds / "fixations" / "bruceFix.mat", {"fixCell": [np.array([[1, 1, 1]])]}, {})
    return {"sizes": sizes, "cells": cells, "grey": grey}


MIT_STEM = "i05june05_static_street_boston_p1010764"


def make_mit1003(root: Path) -> dict:
    """``ALLSTIMULI/ALLSTIMULI/<stem>.jpeg`` (doubled folder), ``ALLFIXATIONMAPS/
    <stem>_fixMap.jpg`` and ``<stem>_fixPts.jpg`` (JPEG: points smeared), plus the stray
    ``…p1010764fixPts.jpg`` (no underscore) and a ``.DS_Store``. Points (row, col)."""
    root = Path(root)
    stems = [MIT_STEM, "i1000"]
    points = {MIT_STEM: [(3, 5), (20, 30)], "i1000": [(10, 10)]}
    for k, stem in enumerate(stems):
        write(root / "ALLSTIMULI" / "ALLSTIMULI" / f"{stem}.jpeg", jpeg_bytes(rgb_image(400 + k)))
        pts = np.zeros((H, W), np.uint8)
        for r, c in points[stem]:
            pts[r, c] = 255
        write(root / "ALLFIXATIONMAPS" / f"{stem}_fixPts.jpg", jpeg_bytes(pts, 75))
        fm = cv2.GaussianBlur(pts.astype(np.float32), (0, 0), 3)
        fm = (fm / fm.max() * 180).astype(np.uint8)
        write(root / "ALLFIXATIONMAPS" / f"{stem}_fixMap.jpg", jpeg_bytes(fm))
    write(root / "ALLFIXATIONMAPS" / f"{MIT_STEM}fixPts.jpg", jpeg_bytes(np.full((H, W), 255, np.uint8)))
    write(root / "ALLFIXATIONMAPS" / ".DS_Store", b"\x00")
    return {"stems": stems, "points": points}


def make_ecssd(root: Path, as_zip: bool = True) -> dict:
    """``images.zip`` -> ``images/0001.jpg…``; ``ground_truth_mask.zip`` ->
    ``ground_truth_mask/0001.png…``."""
    root = Path(root)
    b = root / "_build"
    masks = {}
    for k, stem in enumerate(["0001", "0002"]):
        write(b / "images" / f"{stem}.jpg", jpeg_bytes(rgb_image(500 + k)))
        masks[stem] = mask_array(box=(1, 10 + k, 2, 12))
        write(b / "ground_truth_mask" / f"{stem}.png", png_bytes(masks[stem]))
    if as_zip:
        zip_folder(b / "images", root / "images.zip")
        zip_folder(b / "ground_truth_mask", root / "ground_truth_mask.zip")
        import shutil
        shutil.rmtree(b)
    else:
        for d in ("images", "ground_truth_mask"):
            (b / d).rename(root / d)
        b.rmdir()
    return {"masks": masks}


def make_hku_is(root: Path) -> dict:
    """``HKU-IS/imgs/*.png`` (PNG images), ``HKU-IS/gt/*.png`` and the MDF lists:
    ``trainImgSet.mat`` as a char matrix, ``valImgSet.mat`` and ``testImgSet.mat`` as cell
    arrays of file names with extension."""
    root = Path(root) / "HKU-IS"
    stems = ["0004", "0005", "0010"]
    for k, stem in enumerate(stems):
        write(root / "imgs" / f"{stem}.png", png_bytes(rgb_image(600 + k)))
        write(root / "gt" / f"{stem}.png", png_bytes(mask_array(box=(0, 5, 0, 5 + k))))
    scipy.io.savemat(root / "trainImgSet.mat", {"trainImgSet": np.array(["0004.png", "0010.png"])})
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = "0005.png"
    scipy.io.savemat(root / "valImgSet.mat", {"valImgSet": cell})
    cell = np.empty((0, 1), dtype=object)
    scipy.io.savemat(root / "testImgSet.mat", {"testImgSet": cell})
    return {"stems": stems}


def make_duts(root: Path) -> dict:
    """``DUTS-TR.zip`` -> ``DUTS-TR/DUTS-TR-{Image,Mask}/``; ``DUTS-TE`` unpacked."""
    root = Path(root)
    for tag, stems in (("TR", ["ILSVRC2012_test_00000004", "n01440764_1"]), ("TE", ["sun_aaaa"])):
        base = root / f"DUTS-{tag}"
        for k, stem in enumerate(stems):
            write(base / f"DUTS-{tag}-Image" / f"{stem}.jpg", jpeg_bytes(rgb_image(700 + k)))
            write(base / f"DUTS-{tag}-Mask" / f"{stem}.png", png_bytes(mask_array()))
    import shutil
    zip_folder(root / "DUTS-TR", root / "DUTS-TR.zip")
    shutil.rmtree(root / "DUTS-TR")
    return {}
