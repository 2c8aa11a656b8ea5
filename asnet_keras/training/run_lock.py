"""One training process per run folder (docs/data_integrity.md §4).

Two `asnet train` commands pointed at the same `--out` would write the
same backups, history and model files over each other. `run_lock(out)` takes an
exclusive lock on `OUT/train.lock` for as long as training runs; a second command is
refused with `RunLocked`, whose message names the process that holds the lock (pid,
host, start time, command line).

The lock is an advisory `flock` (POSIX) or `msvcrt.locking` (Windows) lock held by the
open file, not the file's existence: the operating system drops it when its process
ends for whatever reason — a normal exit, an exception, `kill -9`, a crash — so a dead
run never blocks the next one, and no stale-lock clean-up is needed. The file itself
only carries the holder's details for the message; it is removed on a normal release
(a crashed run leaves it behind, harmlessly: the next run takes the lock and rewrites
it). On NFS, Linux emulates `flock` with byte-range locks, which the NFS lock service
shares between hosts.

Workers of one `--strategy multiworker` job share the run folder and lock
`train-<task type>-<index>.lock` each, so they do not refuse one another.

Example:
    >>> with run_lock("runs/asnet"):
    ...     train(config)
"""

import contextlib
import datetime
import json
import os
import socket
import sys

LOCK_NAME = "train.lock"


class RunLocked(RuntimeError):
    """Another process holds the run folder's lock; `holder` is its details (dict)."""

    def __init__(self, path, holder):
        self.path, self.holder = path, holder
        super().__init__(self._message())

    def _message(self):
        h = self.holder or {}
        if h.get("pid"):
            who = f"process {h['pid']} on host {h.get('host', '?')}"
            since = f", running since {h['started']}" if h.get("started") else ""
            command = f" (command: {h['command']})" if h.get("command") else ""
        else:
            who, since, command = "another process (it is just starting)", "", ""
        folder = os.path.dirname(self.path)
        return (
            f"{folder} is in use by another training run: {who}{since}{command}. Two runs "
            f"cannot share a run folder. Wait for it to finish, stop it (e.g. `kill "
            f"{h.get('pid', 'PID')}`; the next run resumes from its last backup), or pass "
            f"another --out. (Lock file: {self.path}; the lock disappears with its process, "
            "also after kill -9 or a crash.)"
        )


def lock_name(strategy="none", tf_config=None):
    """The lock file name of this process: `train.lock`, or for a multi-worker task
    `train-<type>-<index>.lock` (from the TF_CONFIG environment variable)."""
    if strategy != "multiworker":
        return LOCK_NAME
    raw = tf_config if tf_config is not None else os.environ.get("TF_CONFIG", "")
    try:
        task = json.loads(raw).get("task", {}) if raw else {}
    except (ValueError, AttributeError):
        task = {}
    if not task:
        return LOCK_NAME
    return f"train-{task.get('type', 'worker')}-{int(task.get('index', 0))}.lock"


def _try_lock(fd):
    """Take the lock without waiting; False if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    except OSError as error:
        import errno

        if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _unlock(fd):
    try:
        import fcntl
    except ImportError:
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def read_holder(path):
    """The details written in a lock file (dict; {} if empty or unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


def acquire(out, name=LOCK_NAME):
    """Lock `out/name` for this process (creating `out` if needed).

    Returns a handle for `release`. Raises RunLocked naming the holder if another
    process has the lock.
    """
    out = os.path.abspath(os.fspath(out))
    created = not os.path.isdir(out)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise RunLocked(path, read_holder(path))
        # The holder before us may have removed the file between our open and our lock:
        # then we hold a lock on a file nobody else will see; take the current one.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        _unlock(fd)
        os.close(fd)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv) if sys.argv else "",
    }
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))
    os.fsync(fd)
    return {"fd": fd, "path": path, "out": out, "created": created, "holder": holder}


def release(handle):
    """Remove the lock file and drop the lock; remove `out` too if `acquire` created
    it and nothing else was written there."""
    with contextlib.suppress(OSError):
        os.remove(handle["path"])
    with contextlib.suppress(OSError):
        _unlock(handle["fd"])
    with contextlib.suppress(OSError):
        os.close(handle["fd"])
    if handle["created"]:
        with contextlib.suppress(OSError):
            os.rmdir(handle["out"])  # only succeeds when the folder is empty


@contextlib.contextmanager
def run_lock(out, name=LOCK_NAME):
    """Context manager around `acquire` / `release`."""
    handle = acquire(out, name)
    try:
        yield handle
    finally:
        release(handle)
