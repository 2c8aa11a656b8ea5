"""MIT1003 (docs/datasets.md §5): stimuli ``ALLSTIMULI/<stem>.jpeg`` (1,003), and per stem
``ALLFIXATIONMAPS/<stem>_fixMap.jpg`` (density) and ``<stem>_fixPts.jpg`` (point map).

Everything is driven by the stimuli and the exact names ``<stem>_fixMap.jpg`` /
``<stem>_fixPts.jpg``; other files (the stray ``…p1010764fixPts.jpg`` without underscore)
are ignored and listed in ``meta.json``. The JPEG point maps are thresholded at > 127;
``fixations.npz`` holds their pixels (row-major, subject -1). The raw ``DATA/`` eye
samples are not used. All go to ``test``; density: the official ``_fixMap.jpg``."""

from ..common import files_in, stems_in
from ..prepared import Sample, write_split

NAME = "mit1003"
ALIASES = ("mit1003", "mit-1003", "wherepeoplelook")
DENSITY = 'official'
KNOWN_MD5 = {"ALLSTIMULI.zip": "0d7df8b954ecba69b6796e77b9afe4b6"}
DOWNLOAD = ("ALLSTIMULI.zip and ALLFIXATIONMAPS.zip from Tilke Judd's 'Where people look' "
            "page (people.csail.mit.edu/tjudd/WherePeopleLook/); DATA.zip is not needed")


def convert(src, root, report, options):
    stim = stems_in(src, "ALLSTIMULI", ext=".jpeg", exts=(".jpeg", ".jpg"), report=report)
    maps_dir = src.find_dir("ALLFIXATIONMAPS", having="*_fixPts.jpg")
    fixmap, fixpts = {}, {}
    for p in files_in(maps_dir, (".jpg",), report, note_others=True):
        if p.name.endswith("_fixMap.jpg"):
            fixmap[p.name[: -len("_fixMap.jpg")]] = p
        elif p.name.endswith("_fixPts.jpg"):
            fixpts[p.name[: -len("_fixPts.jpg")]] = p
        else:
            report.ignore(report.name(p))
    samples = []
    for stem in sorted(set(stim) | set(fixmap) | set(fixpts)):
        s = Sample(id=stem, image=stim.get(stem), fixpts=fixpts.get(stem), fixmap=fixmap.get(stem))
        if s.image is not None and (s.fixpts is None or s.fixmap is None):
            missing = "_fixPts.jpg point map" if s.fixpts is None else "_fixMap.jpg density map"
            s.problem = f"image without its {missing}"
        samples.append(s)
    write_split(root, NAME, "test", samples, {"fix"}, "official", report,
                workers=options.get("workers"))
    return {"fixpts_threshold": "> 127 on the JPEG point map"}
