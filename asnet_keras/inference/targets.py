"""What `predict` reads and where each of its outputs goes (docs/outputs.md §4).

`collect_inputs(paths, recursive=...)` turns the command line's files and folders into
`Target`s: an input file, the name its outputs get, and whether it is a video. A name is
the file's stem, or with ``--recursive`` its path relative to the folder given, without
extension ("2019/rome/IMG_0001"), so OUT mirrors the input tree. Names are unique: a
second input with the same name gets "-2", then "-3", … (skipping names that another
input has), as the flat folder always did.

`OutputPlan` knows every file an input produces: each output kind in its own folder
under OUT (`saliency/` and `fixation/` for the maps, `mask/`, `cutout/`, `background/`,
`overlay/`, `crop-16x9/`), at `<folder>/<name><ext>`; for a video, one video per kind
(`<folder>/<name><container>`) and the cut-out as a PNG sequence in
`cutout/<name>/` whose `frames.json` is written last.

"Already written" (``--skip-existing``) means every one of those files exists. Outputs
are written completely or not at all (a temporary file renamed over the final name,
docs/data_integrity.md §5), so a file at its final name is whole; the temporaries a
killed run left behind are never taken for outputs and are removed when the next run
starts (`OutputPlan.remove_stale_temporaries`). An input with only some outputs written
is redone entirely.

Example:
    >>> targets, problems = collect_inputs(["photos/"], recursive=True)
    >>> targets[0]
    Target(path='photos/2019/rome/IMG_0001.jpg', name='2019/rome/IMG_0001', video=False)
"""

import dataclasses
import os

from asnet_keras.inference import cropping
from asnet_keras.inference.outputs import EXTENSIONS
from asnet_keras.io import IMAGE_EXTENSIONS, atomic_files

#: Containers `predict` treats as videos (any that OpenCV's FFmpeg reads; docs/outputs.md §6).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
#: The file a cut-out PNG sequence is complete with (written after its last frame).
SEQUENCE_INDEX = "frames.json"
MAP_EXTENSION = ".png"


@dataclasses.dataclass(frozen=True)
class Target:
    """One input: `path` (the file), `name` (its outputs' path under each kind's folder,
    without extension, "/"-separated), `video` (True for `VIDEO_EXTENSIONS`)."""

    path: str
    name: str
    video: bool = False


def is_video(path):
    """True if `path` ends with one of `VIDEO_EXTENSIONS` (any case)."""
    return os.fspath(path).lower().endswith(VIDEO_EXTENSIONS)


def stem(path):
    """The file name without folder and extension: "a/b/IMG_1.jpg" → "IMG_1"."""
    return os.path.splitext(os.path.basename(os.fspath(path)))[0]


def _walk(folder, skip):
    """Image files under `folder`, as paths relative to it ("/"-separated), sorted;
    hidden entries (a leading dot) and the folder `skip` (the output folder) left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.realpath(os.path.join(root, d)) != skip)
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                rel = os.path.relpath(os.path.join(root, name), folder)
                found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def collect_inputs(paths, recursive=False, out=None):
    """The command line's files and folders → (targets, problems).

    Args:
        paths: files (images, or videos by `VIDEO_EXTENSIONS`) and folders.
        recursive: False: a folder contributes the image files directly inside it,
            sorted; True: every image file in its tree (hidden entries and the output
            folder `out` left out), named by its relative path.
        out: the output folder (never walked into).

    Returns:
        `targets`: list of `Target`, names unique; `problems`: messages for arguments
        that are neither a file nor a folder with images.
    """
    skip = os.path.realpath(out) if out is not None else None
    entries, problems = [], []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            if recursive:
                found = [(os.path.join(path, *rel.split("/")), os.path.splitext(rel)[0])
                         for rel in _walk(path, skip)]
            else:
                found = [(os.path.join(path, name), stem(name))
                         for name in sorted(os.listdir(path))
                         if name.lower().endswith(IMAGE_EXTENSIONS)
                         and os.path.isfile(os.path.join(path, name))]
            if not found:
                problems.append(f"{path}: folder has no image files "
                                f"({', '.join(IMAGE_EXTENSIONS)})"
                                + ("" if recursive else "; --recursive walks its sub-folders"))
            entries += found
        elif os.path.isfile(path):
            entries.append((path, stem(path)))
        else:
            problems.append(f"{path}: no such file or folder")
    names = unique_names([name for _, name in entries])
    return [Target(path, name, is_video(path)) for (path, _), name in zip(entries, names)], problems


def unique_names(names):
    """`names` with repeats renamed: the second "a" becomes "a-2", the third "a-3", …,
    skipping any "a-k" that is itself one of `names`."""
    taken = set(names)
    seen, result = set(), []
    for name in names:
        if name in seen:
            k = 2
            while f"{name}-{k}" in taken or f"{name}-{k}" in seen:
                k += 1
            name = f"{name}-{k}"
        seen.add(name)
        result.append(name)
    return result


class OutputPlan:
    """Every file `predict` writes for an input (module docstring).

    Args:
        out: the output folder.
        maps: the map keys written for the "map" output ("saliency", "fixation").
        outputs: output kinds (`outputs.OUTPUT_KINDS`).
        crops: `cropping.Aspect`s (images only).
        container: a video output's extension for an input's (`video.output_container`);
            default: the input's.
    """

    def __init__(self, out, maps, outputs, crops=(), container=None):
        self.out = os.fspath(out)
        self.maps = tuple(maps)
        self.outputs = tuple(outputs)
        self.crops = tuple(cropping.parse_aspect(a) for a in crops)
        self.container = container or (lambda path: os.path.splitext(path)[1].lower())

    def folders(self):
        """The folder of each kind written: "saliency", "fixation", "mask", …"""
        kinds = []
        for kind in self.outputs:
            kinds += self.maps if kind == "map" else [kind]
        return kinds

    def path(self, kind, target):
        """The file of folder-kind `kind` ("saliency", "mask", "crop-16x9", …) for
        `target`; for a video's cut-out, its PNG sequence's `SEQUENCE_INDEX`."""
        parts = target.name.split("/")
        if target.video:
            if kind == "cutout":
                return os.path.join(self.out, kind, *parts, SEQUENCE_INDEX)
            ext = self.container(target.path)
        else:
            ext = MAP_EXTENSION if kind in self.maps else EXTENSIONS.get(kind, ".png")
        parts[-1] += ext
        return os.path.join(self.out, kind, *parts)

    def paths(self, target):
        """Folder-kind → file, for every output of `target` (crops for images only)."""
        paths = {kind: self.path(kind, target) for kind in self.folders()}
        if not target.video:
            for aspect in self.crops:
                paths[f"crop-{aspect.tag}"] = cropping.crop_path(self.out, target.name, aspect)
        return paths

    def written(self, target):
        """True if every output of `target` exists at its final name (module docstring)."""
        return all(os.path.isfile(p) for p in self.paths(target).values())

    def remove_stale_temporaries(self):
        """Delete the temporary files that killed runs left anywhere under the folders
        of this plan (`atomic_files.remove_stale_temporaries`: only those of processes
        that no longer run); returns how many."""
        kinds = self.folders() + [f"crop-{aspect.tag}" for aspect in self.crops]
        removed = 0
        for kind in kinds:
            for root, _, _ in os.walk(os.path.join(self.out, kind)):
                removed += atomic_files.remove_stale_temporaries(root)
        return removed
