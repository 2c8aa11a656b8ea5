"""Finding a dataset's files in a folder or in the archives as downloaded.

A :class:`Source` wraps what the user passed as ``--src``: a folder (holding unpacked
folders and/or archives, at any depth up to :data:`MAX_DEPTH`) or one archive file.
Archives are extracted lazily, only when a folder the converter needs is not found
unpacked, into ``<work>/<archive name>/`` (default work folder: ``<dst>/.extract/<dataset>``).

Safety (issue 3, point 1): before anything is written, every member name is checked;
absolute paths, drive letters, ``..`` components and symbolic links are refused, and a
single bad member refuses the whole archive (:class:`UnsafeArchive`). Extraction goes
to a temporary sibling folder that is renamed into place when complete, so an
interrupted extraction is redone, never trusted. macOS and VCS debris (``__MACOSX/``,
``._*``, ``.DS_Store``, ``.svn/``, ``Thumbs.db``) is skipped everywhere.

``.zip`` is read with the standard library; ``.rar`` needs the optional ``rarfile``
package (plus an ``unrar``/``bsdtar`` tool), otherwise :class:`ArchiveError` says so.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .io import md5_file

MAX_DEPTH = 5
ARCHIVE_SUFFIXES = (".zip", ".rar")
JUNK_DIRS = {"__MACOSX", ".svn", ".git"}
JUNK_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


class ArchiveError(RuntimeError):
    """An archive that cannot be read; the message names the file and the fix."""


class UnsafeArchive(ArchiveError):
    """An archive member would be written outside the extraction folder."""


class LayoutError(RuntimeError):
    """The source does not hold the layout DATASETS.md describes (message says what)."""


def is_junk(name: str) -> bool:
    """True for OS/VCS debris: ``__MACOSX/…``, ``._x`` twins, ``.DS_Store`` …"""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p in JUNK_DIRS for p in parts) or (bool(parts) and (
        parts[-1] in JUNK_FILES or parts[-1].startswith("._")))


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _member_problem(name: str, is_link: bool) -> str | None:
    norm = name.replace("\\", "/")
    if is_link:
        return "is a symbolic link"
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "has an absolute path"
    if ".." in PurePosixPath(norm).parts:
        return "contains '..' and would escape the extraction folder"
    return None


def _open(archive: Path):
    name = archive.name.lower()
    if name.endswith(".zip"):
        try:
            return zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise ArchiveError(f"{archive}: not a readable zip file ({e}); "
                               "download it again") from e
    if name.endswith(".rar"):
        try:
            import rarfile  # optional dependency
        except ImportError as e:
            raise ArchiveError(
                f"{archive}: reading .rar archives needs the 'rarfile' package "
                "(pip install rarfile, plus the 'unrar' or 'bsdtar' tool); or unpack it "
                "yourself and pass the folder as --src") from e
        try:
            return rarfile.RarFile(archive)
        except Exception as e:  # rarfile raises several types
            raise ArchiveError(f"{archive}: cannot read this rar file ({e})") from e
    raise ArchiveError(f"{archive}: unsupported archive type (use .zip or .rar)")


def _is_link(info) -> bool:
    if isinstance(info, zipfile.ZipInfo):
        return stat.S_ISLNK(info.external_attr >> 16)
    return bool(getattr(info, "is_symlink", lambda: False)())


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into ``target`` (created) and return ``target``.

    Skips junk members; refuses the whole archive if any member is unsafe. Reuses a
    previous complete extraction of the same file (size and mtime recorded).
    """
    archive, target = Path(archive), Path(target)
    st = archive.stat()
    stamp = f"{st.st_size} {int(st.st_mtime)}\n"
    marker = target / ".data_prep-extracted"
    if marker.is_file() and marker.read_text() == stamp:
        return target
    with _open(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            problem = _member_problem(info.filename, _is_link(info))
            if problem:
                raise UnsafeArchive(f"{archive}: member '{info.filename}' {problem}; "
                                    "refusing to extract this archive")
        tmp = target.with_name(target.name + ".partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        root = tmp.resolve()
        for info in infos:
            if is_junk(info.filename) or info.filename.endswith(("/", "\\")):
                continue
            dest = (root / info.filename.replace("\\", "/")).resolve()
            if os.path.commonpath([root, dest]) != str(root):  # belt and braces
                raise UnsafeArchive(f"{archive}: member '{info.filename}' escapes the folder")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    (tmp / marker.name).write_text(stamp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


class Source:
    """Files of one dataset, unpacked or in archives (see module docstring)."""

    def __init__(self, src: Path, work: Path, exclude: tuple = ()):
        self.src = Path(src)
        self.work = Path(work)
        # never look inside the extraction cache or the prepared tree (if under src)
        self.exclude = {Path(p).resolve() for p in (self.work, *exclude)}
        if not self.src.exists():
            raise LayoutError(f"{self.src}: no such file or folder")
        self.roots: list[Path] = []
        self.prefix: dict[Path, str] = {self.src: ""}
        self.pending: list[Path] = []
        self.archives: list[dict] = []
        if self.src.is_dir():
            self.roots.append(self.src)
            self.pending += self._archives_in(self.src)
        elif is_archive(self.src):
            self.pending.append(self.src)
        else:
            raise LayoutError(f"{self.src}: neither a folder nor a .zip/.rar archive")
        self._dirs_cache: dict = {}

    def _archives_in(self, folder: Path, depth: int = 0) -> list[Path]:
        out = []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return out
        for e in entries:
            if is_junk(e.name) or e.name.startswith(".extract"):
                continue
            if e.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
                if not e.name.endswith(".partial") and Path(e.path).resolve() not in self.exclude:
                    out += self._archives_in(Path(e.path), depth + 1)
            elif e.is_file() and e.name.lower().endswith(ARCHIVE_SUFFIXES):
                out.append(Path(e.path))
        return out

    def _extract_next(self) -> bool:
        if not self.pending:
            return False
        arch = self.pending.pop(0)
        target = self.work / arch.name
        k = 2
        while target in self.roots:  # two archives of the same name in different folders
            target = self.work / f"{arch.name}-{k}"
            k += 1
        safe_extract(arch, target)
        self.archives.append({"name": arch.name, "md5": md5_file(arch)})
        self.roots.append(target)
        self.prefix[target] = f"{arch.name}:"
        self.pending += self._archives_in(target)
        self._dirs_cache.clear()
        return True

    def _dirs(self, root: Path) -> list[Path]:
        if root not in self._dirs_cache:
            found, stack = [], [(root, 0)]
            while stack:
                d, depth = stack.pop()
                found.append(d)
                if depth >= MAX_DEPTH:
                    continue
                try:
                    subs = [Path(e.path) for e in os.scandir(d)
                            if e.is_dir() and not is_junk(e.name)
                            and not e.name.endswith(".partial")
                            and not (d == self.src and e.name.startswith(".extract"))
                            and Path(e.path).resolve() not in self.exclude]
                except OSError:
                    subs = []
                stack += [(s, depth + 1) for s in sorted(subs, reverse=True)]
            self._dirs_cache[root] = found
        return self._dirs_cache[root]

    def display(self, path: Path) -> str:
        """How a file is named in reports: relative to ``--src``, or ``archive:member``
        for a file that came out of an archive."""
        path = Path(path)
        for root in sorted(self.prefix, key=lambda r: len(r.parts), reverse=True):
            try:
                return self.prefix[root] + path.relative_to(root).as_posix()
            except ValueError:
                continue
        return path.name

    def find_dir(self, *rel: str, having: str | None = None, required: bool = True) -> Path | None:
        """Shallowest folder whose path ends with ``rel`` (case-insensitive, e.g.
        ``"DUT-OMRON-eye-fixations", "mat"``) and, if ``having`` (a glob such as
        ``"*.jpg"``) is given, that directly holds a matching file; so a doubled folder
        ``X/X/`` resolves to the inner one. Unpacked roots are searched first, then
        archives are extracted one by one until a match appears."""
        want = tuple(p.lower() for p in rel)
        while True:
            hits = []
            for root in self.roots:
                for d in self._dirs(root):
                    parts = tuple(p.lower() for p in d.relative_to(root).parts)
                    if len(parts) < len(want) or parts[len(parts) - len(want):] != want:
                        continue
                    if having and not any(not is_junk(p.name) for p in d.glob(having)):
                        continue
                    hits.append((len(parts), str(d), d))
            if hits:
                return min(hits)[2]
            if not self._extract_next():
                break
        if required:
            what = "/".join(rel) or "a folder"
            extra = f" holding {having} files" if having else ""
            raise LayoutError(f"{self.src}: folder '{what}'{extra} not found, neither unpacked "
                              "nor inside an archive there")
        return None

    def find_file(self, name: str, required: bool = True) -> Path | None:
        """Shallowest file called ``name`` (case-insensitive) in any root."""
        while True:
            hits = []
            for root in self.roots:
                for d in self._dirs(root):
                    try:
                        entries = list(os.scandir(d))
                    except OSError:
                        continue
                    for e in entries:
                        if e.name.lower() == name.lower() and e.is_file():
                            p = Path(e.path)
                            hits.append((len(p.relative_to(root).parts), e.path, p))
            if hits:
                return min(hits)[2]
            if not self._extract_next():
                break
        if required:
            raise LayoutError(f"{self.src}: file '{name}' not found (unpacked or in an archive)")
        return None

    def all_dirs(self) -> list[Path]:
        """Every folder seen so far (after extracting everything), for error messages."""
        while self._extract_next():
            pass
        return [d for r in self.roots for d in self._dirs(r)]


def list_files(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    """Files directly in ``folder`` with one of ``exts`` (lower-case, with dot), junk
    filtered, sorted by name."""
    return sorted((p for p in Path(folder).iterdir()
                   if p.is_file() and not is_junk(p.name) and p.suffix.lower() in exts),
                  key=lambda p: p.name)
