"""Stages, the state file that records them, and the fingerprints of their inputs.

docs/reproduce.md §2. A reproduction is a list of `Stage`s run in order. Each says what it
reads (`inputs()`: a JSON-able fingerprint, computed when its turn comes, so it can
describe what the stages before it wrote) and whether its outputs are there
(`complete(entry)`). `run_stages` skips a stage when the state file says it completed
with the same inputs and its outputs are still complete; otherwise it runs it. A stage
whose inputs changed since it started is run again, except a stage marked
`redo_on_change=False` (training: hours of work are never thrown away silently), which
is refused with `InputsChanged` naming what changed.

OUT/state.json (written atomically after every change, docs/data_integrity.md §5):

    {"format": 1, "stages": {NAME: {"status": "started" | "complete",
        "inputs": {...}, "started": ISO time, "completed": ISO time,
        "seconds": wall seconds of the run that completed it, "outputs": {...}}}}

Fingerprints are cheap to compute on every call: file sizes and modification times
(`asnet_keras.data.file_checks.file_stat`, `tree_fingerprint`), and SHA-256 of small
files whose content is what matters (`content_fingerprint`: meta.json, results.json).
"""

import dataclasses
import datetime
import hashlib
import json
import os
import time
from typing import Callable

from asnet_keras.data.file_checks import file_stat
from asnet_keras.io.atomic_files import atomic_write_text

STATE_FILE = "state.json"
STATE_FORMAT = 1


class InputsChanged(ValueError):
    """A stage that is not redone on its own found its inputs changed since it started."""


@dataclasses.dataclass
class Stage:
    """One step of a reproduction.

    Attributes:
        name: its key in the state file and its name on the console ("train").
        summary: what it does, in a few words ("train with the paper's schedule").
        inputs: () -> dict, the fingerprint of what it reads.
        run: () -> dict, does the work and returns what it made (kept in the state file).
        complete: (state entry) -> bool, whether its outputs are there and whole.
        redo_on_change: False refuses to run again when the inputs changed since it
            started (`InputsChanged`); the message says how to start it afresh.
        on_skip: (state entry) -> None, prints what a skipped stage holds (optional).
        fresh_start: with redo_on_change=False, how to start the stage afresh.
        work_on_disk: with redo_on_change=False, () -> bool: whether an earlier run's work
            is there to lose (the refusal applies only then).
    """

    name: str
    summary: str
    inputs: Callable[[], dict]
    run: Callable[[], dict]
    complete: Callable[[dict], bool]
    redo_on_change: bool = True
    on_skip: Callable[[dict], None] | None = None
    fresh_start: str = ""
    work_on_disk: Callable[[], bool] = lambda: True


def _now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class State:
    """OUT/state.json: per stage, its status, inputs, times and outputs."""

    def __init__(self, out):
        self.path = os.path.join(os.fspath(out), STATE_FILE)
        self.stages = {}
        if os.path.isfile(self.path):
            with open(self.path, encoding="utf-8") as f:
                try:
                    content = json.load(f)
                except ValueError as error:
                    raise ValueError(
                        f"{self.path} is not valid JSON ({error}): it is written atomically, so "
                        "something else changed it; delete it to re-check every stage "
                        "(complete outputs are then recomputed)") from None
            if isinstance(content, dict) and content.get("format") == STATE_FORMAT:
                self.stages = dict(content.get("stages") or {})

    def get(self, name):
        """The entry of stage `name` (a dict), or None."""
        return self.stages.get(name)

    def record(self, name, **fields):
        """Update stage `name`'s entry with `fields` and write the file atomically."""
        self.stages[name] = {**(self.stages.get(name) or {}), **fields}
        text = json.dumps({"format": STATE_FORMAT, "stages": self.stages}, indent=1,
                          sort_keys=True) + "\n"
        atomic_write_text(self.path, text, fsync=True)


def _changes(old, new, prefix=""):
    """The keys whose values differ between two input fingerprints, nested ones dotted
    ("config.input_size")."""
    old, new = old or {}, new or {}
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changed += _changes(a, b, f"{prefix}{key}.")
        else:
            changed.append(f"{prefix}{key}")
    return changed


def run_stages(stages, state, log=print, tag="reproduce", stop_after=None):
    """Run `stages` in order, skipping the complete ones; returns {name: "ran" | "skipped"}.

    Args:
        stages: `Stage`s, in order.
        state: the `State` of the output folder.
        log: where progress lines go ("[tag i/n] name: …").
        tag: the prefix of those lines.
        stop_after: a stage name: stop once it is done or skipped.
    Raises:
        InputsChanged: a stage with `redo_on_change=False` whose inputs changed.
        Whatever a stage's `run` raises: the stage stays "started" (not complete), so the
        same call runs it again.
    """
    did = {}
    for i, stage in enumerate(stages, 1):
        prefix = f"[{tag} {i}/{len(stages)}] {stage.name}"
        inputs = stage.inputs()
        entry = state.get(stage.name)
        if (entry and entry.get("status") == "complete" and entry.get("inputs") == inputs
                and stage.complete(entry)):
            log(f"{prefix}: complete since {entry.get('completed')} "
                f"({entry.get('seconds', 0):.1f} s then), skipped")
            if stage.on_skip:
                stage.on_skip(entry)
            did[stage.name] = "skipped"
        else:
            if (entry and entry.get("inputs") not in (None, inputs)
                    and not stage.redo_on_change and stage.work_on_disk()):
                changed = ", ".join(_changes(entry.get("inputs"), inputs))
                raise InputsChanged(
                    f"{stage.name}: its inputs changed since it started on "
                    f"{entry.get('started')} (changed: {changed}). It is not redone on its "
                    f"own: {stage.fresh_start or 'pass another --out'}.")
            log(f"{prefix}: {stage.summary}")
            state.record(stage.name, status="started", inputs=inputs, started=_now())
            start = time.perf_counter()
            outputs = stage.run() or {}
            seconds = time.perf_counter() - start
            state.record(stage.name, status="complete", completed=_now(), seconds=seconds,
                         outputs=outputs)
            log(f"{prefix}: done in {seconds:.1f} s")
            did[stage.name] = "ran"
        if stage.name == stop_after:
            break
    return did


def tree_fingerprint(path):
    """A file's or folder's fingerprint: for a folder, the number of files and a SHA-256
    over each file's relative path, size and modification time (no content is read)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return {"file": file_stat(path)}
    digest, count = hashlib.sha256(), 0
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            stat = os.stat(full)
            digest.update(f"{os.path.relpath(full, path)}\0{stat.st_size}\0"
                          f"{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
            count += 1
    return {"files": count, "sha256": digest.hexdigest()}


def content_fingerprint(files):
    """{key: SHA-256 of the file's content, or None when absent} for {key: path} of small
    files (meta.json, results.json)."""
    out = {}
    for key, path in files.items():
        try:
            with open(path, "rb") as f:
                out[key] = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            out[key] = None
    return out
