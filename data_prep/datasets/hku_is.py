"""HKU-IS (docs/datasets.md §7): distributed as ``HKU-IS.rar``, which holds ``HKU-IS/imgs/*.png``
images, ``HKU-IS/gt/*.png`` masks (same names), and the MDF split lists
``{train,val,test}ImgSet.mat`` (variable named like the file; char or cell array of file
names with extension). The ``.rar`` is read as it is (see :mod:`data_prep.archives` and
docs/datasets_downloads.md §5 for the RAR readers) or unpacked. All 4,447 go to
``test``; the lists become ``test/list_mdf_{train,val,test}.txt`` (ids, sorted)."""

from pathlib import Path

from ..archives import LayoutError
from ..common import by_stem, files_in, loadmat_v5, mat_strings, pair
from ..io import BadInput
from ..prepared import write_split

NAME = "hku-is"
ALIASES = ("hku-is", "hku_is", "hkuis")
DENSITY = None
DOWNLOAD = ("HKU-IS.rar (HKU-IS/imgs/, gt/, trainImgSet.mat, valImgSet.mat, testImgSet.mat) "
            "via the Google Drive / Baidu links on the authors' MDF page (Li & Yu, CVPR 2015); "
            "reading the .rar needs libarchive-c (make setup) or rarfile + unrar/bsdtar")
ALTERNATIVES = ("Imgs", "Image", "Mask", "test.lst")


def _mdf_list(src, part, report):
    path = src.find_file(f"{part}ImgSet.mat", required=False)
    if path is None:
        report.warn(f"{part}ImgSet.mat not found; list_mdf_{part}.txt not written")
        return None
    try:
        mat = loadmat_v5(path)
        key = f"{part}ImgSet"
        if key not in mat:  # some copies were re-saved under another name
            key = next(k for k in mat if not k.startswith("__"))
        return [Path(n).stem for n in mat_strings(mat[key])]
    except (BadInput, StopIteration) as e:
        report.warn(f"{path.name}: cannot read the MDF list ({e}); list_mdf_{part}.txt not written")
        return None


def convert(src, root, report, options):
    imgs = src.find_dir("imgs", having="*.png", required=False)
    gt = src.find_dir("gt", having="*.png", required=False)
    if imgs is None or gt is None:
        seen = sorted({p.name for d in src.all_dirs() for p in [d, *d.glob("test.lst")]
                       if p.name in ALTERNATIVES})
        raise LayoutError(f"{src.src}: expected the original HKU-IS layout imgs/*.png + gt/*.png"
                          + (f"; found a repackaged copy ({', '.join(seen)}), please use the "
                             "authors' release" if seen else ""))
    images = by_stem(files_in(imgs, (".png",), report), report)
    masks = by_stem(files_in(gt, (".png",), report), report)
    samples = pair(images, masks)
    lists = {}
    for part in ("train", "val", "test"):
        ids = _mdf_list(src, part, report)
        if ids is not None:
            missing = sorted(set(ids) - set(images))
            if missing:
                report.warn(f"{part}ImgSet.mat names {len(missing)} images not in imgs/: "
                            + ", ".join(missing[:5]) + ("…" if len(missing) > 5 else ""))
            lists[f"list_mdf_{part}.txt"] = ids
    write_split(root, NAME, "test", samples, {"mask"}, None, report, extra_lists=lists,
                workers=options.get("workers"))
    return {"mdf_split_files": sorted(lists)}
