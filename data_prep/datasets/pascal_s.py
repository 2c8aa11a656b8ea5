"""PASCAL-S (docs/datasets.md §4), from the salObj benchmark archive ``salObj.zip``.

* ``datasets/imgs/pascal/<i>.jpg`` and ``datasets/masks/pascal/<i>.png``, i = 1…850 (no
  padding). Masks are grey levels (share of labellers); binarised at >= 128 (the
  benchmark's ``gtThreshold = 0.5``), each counted as ``mask_not_binary``.
* ``datasets/fixations/pascalFix.mat`` (MATLAB v7.3 = HDF5, read with h5py): ``fixCell``,
  a 1 x 850 cell of object references; cell i belongs to image ``i+1`` (numeric order).
  In MATLAB each cell is N x 3 ``[row (y), col (x), subject]``, 1-based; h5py returns it
  transposed (3 x N). An empty cell is stored as a 2-element ``uint64`` placeholder.
* ``datasets/fixations/pascalSize.mat`` (v7.3): ``sizeData``, 850 x 2 ``[H, W]`` (2 x 850
  via h5py); checked against each image (mismatch -> rejected).
A v5 copy of either file (as re-saved by some users) is read with scipy instead.
All 850 go to ``test``; density: fc = 8 Fourier Gaussian (as the salObj human maps)."""

import h5py
import numpy as np

from ..common import loadmat_v5, pair, stems_in
from ..io import BadInput
from ..prepared import RawPoints, write_split

NAME = "pascal-s"
ALIASES = ("pascal-s", "pascal_s", "pascals", "salobj")
DENSITY = 'fc8'
KNOWN_MD5 = {"salObj.zip": "e48b4e5deac08bddcaec55ce56e4d420"}
DOWNLOAD = ("salObj.zip from the salObj project page (cbs.ic.gatech.edu/salobj; the site's SSL "
            "certificate is invalid, so your browser will warn)")


def _read_cells(path, var):
    """-> list of float64 arrays as MATLAB shows them (cell entries, N x 3 / 1 x 2)."""
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            if var not in f:
                raise BadInput(f"no variable '{var}' in {path.name}")
            ds = f[var]
            if ds.dtype == h5py.ref_dtype or ds.dtype.kind == "O":
                out = []
                for ref in ds[()].T.ravel():  # MATLAB column-major order
                    obj = f[ref]
                    arr = np.asarray(obj[()])
                    if obj.attrs.get("MATLAB_empty", 0) or arr.dtype == np.uint64 and arr.size == 2:
                        out.append(np.zeros((0, 3)))
                    else:
                        out.append(np.asarray(arr, np.float64).T)
                return out
            return np.asarray(ds[()], np.float64).T  # numeric matrix, transposed back
    mat = loadmat_v5(path, [var])
    if var not in mat:
        raise BadInput(f"no variable '{var}' in {path.name}")
    val = mat[var]
    if val.dtype == object:
        return [np.asarray(v, np.float64).reshape(-1, 3) if np.size(v) else np.zeros((0, 3))
                for v in val.ravel(order="F")]
    return np.asarray(val, np.float64)


def convert(src, root, report, options):
    images = stems_in(src, "imgs", "pascal", ext=".jpg", report=report)
    masks = stems_in(src, "masks", "pascal", ext=".png", report=report)
    fix_path = src.find_file("pascalFix.mat")
    size_path = src.find_file("pascalSize.mat")
    cells = _read_cells(fix_path, "fixCell")
    sizes = np.asarray(_read_cells(size_path, "sizeData"), np.float64)
    if sizes.ndim != 2 or 2 not in sizes.shape:
        raise BadInput(f"{size_path.name}: sizeData has shape {sizes.shape}, "
                       "expected 850 x 2 [H, W]")
    if sizes.shape[1] != 2:
        sizes = sizes.T
    points = {}
    for k, cell in enumerate(cells):
        cell = np.asarray(cell, np.float64).reshape(-1, 3)
        size = (int(sizes[k, 0]), int(sizes[k, 1])) if k < len(sizes) else None
        rp = RawPoints(x=cell[:, 1], y=cell[:, 0], subject=cell[:, 2].astype(np.int64), base=1,
                       size_hw=size, source=f"pascalFix.mat fixCell{{{k + 1}}}")
        points[str(k + 1)] = rp
    samples = pair(images, masks, points)
    n_subj = len({int(v) for c in cells for v in np.asarray(c).reshape(-1, 3)[:, 2]})
    write_split(root, NAME, "test", samples, {"mask", "fix"}, "fc8", report,
                workers=options.get("workers"))
    return {"coordinates": "fixCell rows [y, x, subject], 1-based; sizeData [H, W]",
            "mask_threshold": ">= 128 (gtThreshold 0.5)", "fixation_subjects": n_subj}
