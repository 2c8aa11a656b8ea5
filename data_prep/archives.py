"""Finding a dataset's files in a folder or in the archives as downloaded.

A :class:`Source` wraps what the user passed as ``--src``: a folder (holding unpacked
folders and/or archives, at any depth up to :data:`MAX_DEPTH`) or one archive file.
Archives are extracted lazily, only when a folder the converter needs is not found
unpacked, into ``<work>/<archive name>/`` (default work folder: ``<dst>/.extract/<dataset>``).

Safety: before anything is written, every member name is checked;
absolute paths, drive letters, ``..`` components and symbolic links are refused, and a
single bad member refuses the whole archive (:class:`UnsafeArchive`). Extraction goes
to a temporary sibling folder that is renamed into place when complete, so an
interrupted extraction is redone, never trusted. macOS and VCS debris (``__MACOSX/``,
``._*``, ``.DS_Store``, ``.svn/``, ``Thumbs.db``) is skipped everywhere.

``.zip`` is read with the standard library. ``.rar`` (HKU-IS is distributed as
``HKU-IS.rar``, docs/datasets_downloads.md §5) is read by the first of these that works:
the ``rarfile`` package with one of its tools (``unrar``, ``unar``, ``7z`` with RAR
support, ``bsdtar``), then the ``libarchive-c`` package (the ``data`` extra,
``pip install 'asnet-keras[data]'``; ``make setup`` installs it), which uses the system
libarchive (Debian/Ubuntu package ``libarchive13``, built into macOS). If none is
available, :class:`ArchiveError` names what to install, the extra first.

Besides extraction, a :class:`Source` can list the members of an archive it has not
extracted yet and read one member into memory (:meth:`Source.pending_members`,
:meth:`Source.read_member`): converters use this to recognise what an archive holds by
its content before deciding to extract it.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from asnet_keras.extras import MissingExtra, requires

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
    """The source does not hold the layout docs/datasets.md describes (message says what)."""


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


class _Member:
    """One archive member: its name as stored, and whether it is a folder or a link."""

    __slots__ = ("name", "is_dir", "is_link")

    def __init__(self, name: str, is_dir: bool, is_link: bool):
        self.name, self.is_dir, self.is_link = name, is_dir, is_link


class _ZipReader:
    """Uniform reader over a zip file (standard library)."""

    def __init__(self, archive: Path):
        try:
            self.zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise ArchiveError(f"{archive}: not a readable zip file ({e}); "
                               "download it again") from e

    def members(self) -> list[_Member]:
        return [_Member(i.filename, i.is_dir() or i.filename.endswith(("/", "\\")),
                        stat.S_ISLNK(i.external_attr >> 16)) for i in self.zf.infolist()]

    def files(self, wanted: set[str] | None = None):
        """Yield ``(name, file object)`` for regular members (all, or those in ``wanted``)."""
        for info in self.zf.infolist():
            if info.is_dir() or (wanted is not None and info.filename not in wanted):
                continue
            with self.zf.open(info) as f:
                yield info.filename, f

    def close(self):
        self.zf.close()


class _RarfileReader:
    """``.rar`` through the ``rarfile`` package (it runs unrar/unar/7z/bsdtar itself)."""

    def __init__(self, archive: Path, rarfile):
        self.rarfile = rarfile
        try:
            self.rf = rarfile.RarFile(archive)
        except Exception as e:  # rarfile raises several types
            raise ArchiveError(f"{archive}: cannot read this rar file ({e})") from e

    def members(self) -> list[_Member]:
        return [_Member(i.filename, i.is_dir(), bool(i.is_symlink()))
                for i in self.rf.infolist()]

    def files(self, wanted=None):
        for info in self.rf.infolist():
            if info.is_dir() or (wanted is not None and info.filename not in wanted):
                continue
            with self.rf.open(info) as f:
                yield info.filename, f

    def close(self):
        self.rf.close()


class _Blocks:
    """File-like view of libarchive's data blocks (``read()`` only, what copying needs)."""

    def __init__(self, entry):
        self.blocks = iter(entry.get_blocks())
        self.buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            block = next(self.blocks, None)
            if block is None:
                break
            self.buf += bytes(block)
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


class _LibarchiveReader:
    """``.rar`` (RAR 4 and RAR 5) through ``libarchive-c`` and the system libarchive.
    libarchive reads sequentially, so every listing or extraction is one pass."""

    def __init__(self, archive: Path, libarchive):
        self.archive, self.libarchive = archive, libarchive

    def _entries(self):
        try:
            with self.libarchive.file_reader(str(self.archive)) as entries:
                yield from entries
        except self.libarchive.ArchiveError as e:
            raise ArchiveError(f"{self.archive}: libarchive cannot read this rar file ({e}); "
                               "download it again, or unpack it with unrar / 7-Zip and pass "
                               "the folder as --src") from e

    def members(self) -> list[_Member]:
        return [_Member(e.pathname, e.isdir, e.issym or e.islnk) for e in self._entries()]

    def files(self, wanted=None):
        for e in self._entries():
            if e.isdir or not e.isfile or (wanted is not None and e.pathname not in wanted):
                continue
            yield e.pathname, _Blocks(e)

    def close(self):
        pass


#: The other ways to read a .rar file, named in the error messages.
RAR_OTHER_WAYS = ("'pip install rarfile' plus one of the tools unrar, unar or bsdtar (Debian: "
                  "apt-get install unrar-free, unar or libarchive-tools); or unpack the archive "
                  "yourself and pass the folder as --src")


def rar_help() -> str:
    """What to install when no RAR reader works: the 'data' extra (libarchive-c) when it is
    missing, the system libarchive when libarchive-c cannot load it, else the other ways."""
    try:
        with requires("data"):
            import libarchive  # noqa: F401  (libarchive-c; the system library loads now)
    except MissingExtra as missing:
        return (f"{missing}; its libarchive-c uses the system libarchive (Debian/Ubuntu "
                f"package libarchive13); or {RAR_OTHER_WAYS}")
    except Exception:  # libarchive-c is there, the system libarchive is not
        return ("libarchive-c cannot load the system libarchive (Debian/Ubuntu package "
                f"libarchive13: apt-get install libarchive13); or {RAR_OTHER_WAYS}")
    return f"the RAR readers installed here failed; try {RAR_OTHER_WAYS}"


def rar_backend() -> tuple[str, object] | None:
    """The RAR reader to use: ``("rarfile", module)`` when rarfile finds one of its tools,
    else ``("libarchive", module)`` when libarchive-c loads the system libarchive, else
    ``("rarfile", module)`` without a tool (it still reads stored, uncompressed members),
    else None."""
    try:
        import rarfile  # optional
    except ImportError:
        rarfile = None
    if rarfile is not None:
        try:
            rarfile.tool_setup()
            return "rarfile", rarfile
        except Exception:  # RarCannotExec: no unrar/unar/7z/bsdtar on PATH
            pass
    try:
        import libarchive  # libarchive-c (the data extra); raises if the system library is missing
        return "libarchive", libarchive
    except Exception:
        pass
    return ("rarfile", rarfile) if rarfile is not None else None


def _open(archive: Path):
    name = archive.name.lower()
    if name.endswith(".zip"):
        return _ZipReader(archive)
    if name.endswith(".rar"):
        backend = rar_backend()
        if backend is None:
            raise ArchiveError(f"{archive}: no RAR reader is available here: {rar_help()}")
        kind, module = backend
        if kind == "libarchive":
            return _LibarchiveReader(archive, module)
        return _RarfileReader(archive, module)
    raise ArchiveError(f"{archive}: unsupported archive type (use .zip or .rar)")


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
    reader = _open(archive)
    try:
        members = reader.members()
        for m in members:
            problem = _member_problem(m.name, m.is_link)
            if problem:
                raise UnsafeArchive(f"{archive}: member '{m.name}' {problem}; "
                                    "refusing to extract this archive")
        tmp = target.with_name(target.name + ".partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        root = tmp.resolve()
        for name, src in reader.files():
            if is_junk(name) or name.endswith(("/", "\\")):
                continue
            dest = (root / name.replace("\\", "/")).resolve()
            if os.path.commonpath([root, dest]) != str(root):  # belt and braces
                raise UnsafeArchive(f"{archive}: member '{name}' escapes the folder")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    except ArchiveError:
        raise
    except Exception as e:  # a reader failing half-way (tool missing, corrupt data)
        raise ArchiveError(f"{archive}: extraction failed ({type(e).__name__}: {e}); "
                           + (rar_help() if archive.name.lower().endswith(".rar")
                              else "download it again")) from e
    finally:
        reader.close()
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
        self._members: dict = {}
        self._md5: dict = {}

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
        self.extract(self.pending[0])
        return True

    def extract(self, arch: Path) -> Path:
        """Extract the pending archive ``arch`` now (see :func:`safe_extract`) and return
        the folder it went to; that folder becomes one more searched root."""
        arch = Path(arch)
        if arch not in self.pending:
            for a in self.archives:
                if a.get("path") == arch:
                    return a["root"]
            raise ValueError(f"{arch} is not an archive of {self.src}")
        self.pending.remove(arch)
        target = self.work / arch.name
        k = 2
        while target in self.roots:  # two archives of the same name in different folders
            target = self.work / f"{arch.name}-{k}"
            k += 1
        safe_extract(arch, target)
        self.archives.append({"name": arch.name, "md5": self.md5(arch), "path": arch,
                              "root": target})
        self.roots.append(target)
        self.prefix[target] = f"{arch.name}:"
        self.pending += self._archives_in(target)
        self._dirs_cache.clear()
        return target

    def md5(self, arch: Path) -> str:
        """MD5 of an archive file (computed once)."""
        if arch not in self._md5:
            self._md5[arch] = md5_file(arch)
        return self._md5[arch]

    def pending_members(self) -> dict[Path, list[str]]:
        """``{archive: member names}`` for every archive not extracted yet (nothing is
        extracted; names as stored, ``/``-separated; junk and folders left out). An
        archive that cannot be listed raises :class:`ArchiveError`."""
        out = {}
        for arch in list(self.pending):
            if arch not in self._members:
                reader = _open(arch)
                try:
                    self._members[arch] = [m.name.replace("\\", "/") for m in reader.members()
                                           if not m.is_dir and not is_junk(m.name)]
                except ArchiveError:
                    raise
                except Exception as e:
                    raise ArchiveError(f"{arch}: cannot list its members ({e})") from e
                finally:
                    reader.close()
            out[arch] = self._members[arch]
        return out

    def read_members(self, arch: Path, names: list[str]) -> dict[str, bytes]:
        """``{name: bytes}`` of some members of a pending archive, read into memory in one
        pass (nothing is extracted). Names as :meth:`pending_members` gives them."""
        reader = _open(arch)
        try:
            stored = {m.name.replace("\\", "/"): m.name for m in reader.members()}
            wanted = {stored[n]: n for n in names if n in stored}
            out = {}
            for name, f in reader.files(set(wanted)):
                out[wanted[name]] = f.read()
        except ArchiveError:
            raise
        except Exception as e:
            raise ArchiveError(f"{arch}: cannot read its members ({e})") from e
        finally:
            reader.close()
        missing = [n for n in names if n not in out]
        if missing:
            raise ArchiveError(f"{arch}: no member '{missing[0]}'")
        return out

    def unpacked_dirs(self) -> list[Path]:
        """Every folder of the roots searched so far (``--src`` and the archives already
        extracted), without extracting anything."""
        return [d for r in self.roots for d in self._dirs(r)]

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
