"""Outputs that are either written completely or not at all (full disk included).

docs/data_integrity.md §5. Every file a run writes — training backups and model files,
history.csv and the JSON files, prediction maps — goes to a temporary file in the same
folder that is renamed over the final name only once it is complete (`os.replace` is
atomic on one file system). So when the disk fills up (`ENOSPC`), the quota is
exhausted (`EDQUOT`) or a file-size limit is hit (`EFBIG`) half-way, the previous
version of the file stays as it was; the temporary file is removed and the failure
becomes one `OutputWriteError` whose message names the file, the reason and the free
space left, so the command can stop with that message and be re-run once space is
freed. `data_prep` writes the prepared tree with `write_if_changed`, which also skips a
file that already holds exactly the bytes to write.

Pure Python: TensorFlow and Keras are used only when a caller passes their objects.

Example:
    >>> with atomic_output("runs/a/last.keras") as tmp:
    ...     model.save(tmp)                         # written under a temporary name
    >>> atomic_write_text("runs/a/finished.json", "{}\\n", fsync=True)
"""

import contextlib
import errno
import glob
import os
import re
import shutil

#: errno values that mean "the file cannot be written completely for lack of room".
NO_ROOM_ERRNOS = frozenset(
    code for code in (getattr(errno, "ENOSPC", None), getattr(errno, "EDQUOT", None),
                      getattr(errno, "EFBIG", None)) if code is not None
)
#: How the same failures read in messages of TensorFlow's C++ file system, HDF5 and zip.
NO_ROOM_TEXTS = ("no space left on device", "disk quota exceeded", "file too large",
                 "errno = 28", "errno = 122", "errno = 27")
TMP_PREFIX = ".tmp-"


class OutputWriteError(OSError):
    """An output file could not be written completely; the previous version is intact.

    Attributes: `path` (the final file name), `reason` (one line), `no_room` (True when
    the cause is a full disk, a quota or a file-size limit).
    """

    def __init__(self, path, reason, no_room):
        self.path, self.reason, self.no_room = os.fspath(path), reason, no_room
        super().__init__(errno.ENOSPC if no_room else errno.EIO, self.message())

    def message(self):
        where = os.path.dirname(os.path.abspath(self.path))
        free = free_space(where)
        room = f"; {format_bytes(free)} free on that file system" if free is not None else ""
        advice = ("Free some space (or pass another output folder) and run the same command "
                  "again." if self.no_room else "Fix the cause and run the same command again.")
        return (f"{self.path} could not be written completely ({self.reason}){room}. The "
                f"previous version of the file, if any, is unchanged. {advice}")

    def __str__(self):
        return self.message()


def format_bytes(count):
    """1536 → '1.5 KiB' (binary units, one decimal)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def free_space(folder):
    """Bytes free on the file system of `folder` (its nearest existing parent), or None."""
    folder = os.path.abspath(folder)
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _chain(error):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_no_room(error):
    """True if `error` (or an exception it was raised from) means the disk or quota is
    full or a file-size limit was hit: an OSError with ENOSPC / EDQUOT / EFBIG, or a
    TensorFlow, HDF5 or zip error whose message says so."""
    for e in _chain(error):
        if isinstance(e, OSError) and e.errno in NO_ROOM_ERRNOS:
            return True
        text = str(e).lower()
        if any(t in text for t in NO_ROOM_TEXTS):
            return True
    return False


_CANONICAL = {"no space left on device": errno.ENOSPC, "errno = 28": errno.ENOSPC,
              "disk quota exceeded": getattr(errno, "EDQUOT", errno.ENOSPC),
              "errno = 122": getattr(errno, "EDQUOT", errno.ENOSPC),
              "file too large": errno.EFBIG, "errno = 27": errno.EFBIG}


def _reason(error):
    """One line: the system's words for a no-room error (e.g. 'No space left on
    device'), else the first line of the message."""
    for e in _chain(error):
        if isinstance(e, OSError) and e.errno in NO_ROOM_ERRNOS:
            return os.strerror(e.errno)
        text = str(e).lower()
        for phrase, code in _CANONICAL.items():
            if phrase in text:
                return os.strerror(code)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    return text if len(text) <= 200 else text[:197] + "..."


def as_write_error(path, error):
    """The OutputWriteError for `error` raised while writing `path`, or None if `error`
    is not a write failure (an OSError, or a TensorFlow/HDF5 error reporting no room)."""
    if isinstance(error, OutputWriteError):
        return error
    no_room = is_no_room(error)
    if no_room or isinstance(error, OSError):
        return OutputWriteError(path, _reason(error), no_room)
    return None


def temporary_name(path):
    """The temporary file next to `path` that `atomic_output` writes first."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{name}")


def _fsync_path(path, directory=False):
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:
            return  # some file systems cannot open folders: nothing to sync
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path, fsync=False):
    """Context manager: yields a temporary path; the caller writes the whole file there.

    On a normal exit the temporary file (optionally fsync'ed first, so a full disk that
    the file system only reports when flushing is caught too) replaces `path`. On any
    exception the temporary file is removed and `path` is left untouched; an OSError or
    a TensorFlow/HDF5/zip error that reports no room becomes `OutputWriteError`, any
    other exception propagates unchanged.
    """
    path = os.fspath(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise OutputWriteError(path, "the writer produced no file", False)
        if fsync:
            _fsync_path(tmp)
        os.replace(tmp, path)
        if fsync:
            _fsync_path(os.path.dirname(os.path.abspath(path)), directory=True)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        converted = as_write_error(path, error) if isinstance(error, Exception) else None
        if converted is not None and converted is not error:
            raise converted from error
        raise


def atomic_write_bytes(path, data, fsync=False):
    """Write `data` to `path` completely or not at all (`atomic_output`)."""
    with atomic_output(path, fsync=fsync) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_if_changed(path, data, fsync=False):
    """Write `data` to `path` (completely or not at all, creating its folder) unless the
    file already holds exactly these bytes; True if it was (re)written, False if it was
    verified identical and left alone (how a re-run of `data_prep` checks its output)."""
    path = os.fspath(path)
    try:
        if os.path.getsize(path) == len(data):
            with open(path, "rb") as f:
                if f.read() == data:
                    return False
    except FileNotFoundError:
        pass
    make_parent(path)
    atomic_write_bytes(path, data, fsync=fsync)
    return True


def make_parent(path):
    """Create the folder that will hold the file `path` (and its parents); returns `path`.

    Raises:
        OutputWriteError: the folder could not be made (`as_write_error`).
    """
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    except OSError as error:
        raise as_write_error(path, error) from error
    return path


def atomic_write_text(path, text, fsync=False):
    """Write `text` (UTF-8) to `path` completely or not at all."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_copy(source, target, fsync=False):
    """Copy `source` to `target` completely or not at all."""
    with atomic_output(target, fsync=fsync) as tmp:
        shutil.copyfile(source, tmp)


def remove_stale_temporaries(folder):
    """Delete temporary files that an interrupted writer left in `folder`; return how many.

    Only files of processes that no longer run are removed (the pid is in the name)."""
    removed = 0
    for tmp in glob.glob(os.path.join(os.fspath(folder), TMP_PREFIX + "*")):
        pid = os.path.basename(tmp)[len(TMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.remove(tmp)
            removed += 1
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def save_checkpoint(manager, checkpoint_number):
    """`manager.save(checkpoint_number=...)` for a `tf.train.CheckpointManager`, or a
    clean `OutputWriteError` that leaves the previous checkpoints loadable.

    TensorFlow writes a checkpoint's files (`ckpt-N.index`, `ckpt-N.data-…`, via a
    `ckpt-N_temp` folder) before it records `ckpt-N` in the `checkpoint` state file,
    and only then deletes the oldest kept checkpoint. A write that fails half-way so
    leaves the state file naming the previous checkpoint, whose files are untouched;
    this function removes the partial files of `ckpt-N` and raises.

    Returns the path prefix of the new checkpoint.
    """
    try:
        return manager.save(checkpoint_number=checkpoint_number)
    except Exception as error:
        prefix = os.path.join(manager.directory, f"ckpt-{checkpoint_number}")
        converted = as_write_error(prefix, error)
        if converted is None:
            raise
        if manager.latest_checkpoint != prefix:
            for leftover in glob.glob(glob.escape(prefix) + ".*") + glob.glob(
                    glob.escape(prefix) + "_temp*"):
                if os.path.isdir(leftover):
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.remove(leftover)
        previous = manager.latest_checkpoint
        converted.reason += (f"; the last complete backup is {previous}" if previous
                             else "; there is no earlier backup")
        raise converted from error
