"""A run killed with SIGKILL in the middle of an epoch and started again ends where an
uninterrupted run ends (docs/model.md §3, docs/framework_notes.md §8): the same weights and
optimizer state (Adam's moments, its step count), the same history rows, the same learning
rate at every step and the same batches — on one device and under `--strategy mirrored`
over two logical CPUs.

Each path trains twice side by side with deterministic ops
(`tests/support/deterministic_train.py`, which records each step's batch and learning
rate): once without interruption, once killed after the backup of the first step of
epoch 2 and resumed with the same command. Two epochs of three steps at 32 px, the
learning rate divided by 10 after epoch 1 (`--lr-decay-epochs 1`), so a resume that
restarts the schedule applies the wrong rate.
"""

import csv
import json
import os
import subprocess

import numpy as np
import pytest

from data_prep.synthetic import make_synthetic
from tests.support.deterministic_train import STEP_LOG
from tests.support.training_runs import (
    DETERMINISTIC_COMMAND,
    REPO,
    STEPS,
    backup_of_step,
    held_after_backup,
    command,
    environment,
    kill_when_held,
    start,
)

pytestmark = pytest.mark.slow  # subprocess runs; `make test-fast` leaves them out

EPOCHS = 2
TOTAL_STEPS = EPOCHS * STEPS
LEARNING_RATE = 3e-4  # training_runs.command's --learning-rate
PATHS = {
    "single": (),
    "mirrored": ("--strategy", "mirrored", "--cpu-devices", "2"),
}
assert len(PATHS) == 2
WEIGHT_TOLERANCE = 1e-6  # largest |difference| of any checkpointed float


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("resume") / "prepared")
    make_synthetic(root, n=8, size=48)
    return root


@pytest.fixture(scope="module", params=list(PATHS))
def runs(request, prepared, tmp_path_factory):
    """One path's two runs: "whole" (uninterrupted) and "resumed" (killed, run again)."""
    base = tmp_path_factory.mktemp(request.param)
    extra = (*PATHS[request.param], "--lr-decay-epochs", "1")
    outs = {name: str(base / name) for name in ("whole", "resumed")}
    logs = {name: str(base / f"{name}.jsonl") for name in outs}

    def run_command(name):
        return command(prepared, outs[name], *extra, module=DETERMINISTIC_COMMAND)

    def env(name):
        return environment(**{STEP_LOG: logs[name]})

    hold, marker = held_after_backup(outs["resumed"], STEPS + 1)
    whole = start(run_command("whole"), env("whole"))
    first = start(run_command("resumed"), dict(env("resumed"), **hold))
    try:
        killed = kill_when_held(first, marker)
        assert os.path.exists(backup_of_step(outs["resumed"], STEPS + 1))
        second = subprocess.run(run_command("resumed"), cwd=REPO, env=env("resumed"),
                                capture_output=True, text=True, timeout=600)
        whole_output = whole.communicate(timeout=600)[0]
    finally:
        for process in (whole, first):
            if process.poll() is None:
                process.kill()
    assert whole.returncode == 0, whole_output
    assert second.returncode == 0, second.stdout + second.stderr
    return {"path": request.param, "outs": outs, "killed": killed, "second": second.stdout,
            "logs": {name: _read_log(path) for name, path in logs.items()}}


def _read_log(path):
    """The records of a run's processes, in process order: [(pid, [record, ...]), ...]."""
    by_pid = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            by_pid.setdefault(record.pop("pid"), []).append(record)
    return list(by_pid.items())


def _effective(processes):
    """What the run as a whole did: {step: batch digest}, [(step, optimizer iteration,
    learning rate)] of each step that counts, and the step each later process resumed
    from. A process starts at the first step of its training stream; its steps at or after
    the next process's start were lost with it (not backed up)."""
    starts = [min(r["step"] for r in records if r["kind"] == "batch")
              for _, records in processes]
    ends = starts[1:] + [TOTAL_STEPS]
    batches, steps = {}, []
    for (_, records), first, end in zip(processes, starts, ends, strict=True):
        ran = [r for r in records if r["kind"] == "step"]
        steps += [(first + k, r["iteration"], r["lr"]) for k, r in enumerate(ran)
                  if first + k < end]
        for record in records:
            if record["kind"] == "batch" and first <= record["step"] < end:
                assert batches.setdefault(record["step"], record["digest"]) == record["digest"]
    return batches, steps, starts[1:]


def _checkpoint(out):
    """Every value of the run's last backup: {name: numpy array}."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(os.path.join(out, "backup"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _history(out):
    with open(os.path.join(out, "history.csv")) as f:
        return list(csv.DictReader(f))


def test_the_run_was_killed_in_the_middle_of_epoch_2(runs):
    _, _, resumed_from = _effective(runs["logs"]["resumed"])
    assert len(resumed_from) == 1, "one kill, one resume"
    assert STEPS < resumed_from[0] < TOTAL_STEPS, resumed_from
    assert f"from epoch 2, step {resumed_from[0] - STEPS}/{STEPS}" in runs["second"]


def test_resumed_run_trains_on_the_same_batches(runs):
    whole, _, _ = _effective(runs["logs"]["whole"])
    resumed, _, _ = _effective(runs["logs"]["resumed"])
    assert sorted(whole) == list(range(TOTAL_STEPS))
    assert resumed == whole


def test_resumed_run_applies_the_same_learning_rate_at_every_step(runs):
    _, whole, _ = _effective(runs["logs"]["whole"])
    _, resumed, _ = _effective(runs["logs"]["resumed"])
    # --lr-decay-epochs 1: 3e-4 in epoch 1, 3e-5 in epoch 2 (to float32 rounding)
    expected = [LEARNING_RATE * 0.1 ** (i // STEPS) for i in range(TOTAL_STEPS)]
    assert [(step, iteration) for step, iteration, _ in whole] == [
        (i, i) for i in range(TOTAL_STEPS)]
    assert [rate for _, _, rate in whole] == pytest.approx(expected, rel=1e-6)
    assert resumed == whole


def test_resumed_run_ends_with_the_same_weights_and_optimizer_state(runs):
    whole = _checkpoint(runs["outs"]["whole"])
    resumed = _checkpoint(runs["outs"]["resumed"])
    assert sorted(resumed) == sorted(whole)
    names = list(whole)
    # what is compared: the weights, Adam's two moments per weight and its step count
    count = {part: sum(n.startswith(f"optimizer/{part}/") for n in names)
             for part in ("_trainable_variables", "_variables", "_iterations")}
    assert count["_trainable_variables"] > 0 and count["_iterations"] == 1, count
    assert count["_variables"] == 2 * count["_trainable_variables"], count
    worst = 0.0
    for name, value in whole.items():
        other = resumed[name]
        assert other.shape == value.shape, name
        if value.dtype.kind == "f":  # NaN marks the epochs not run yet in val_record
            np.testing.assert_array_equal(np.isnan(other), np.isnan(value), err_msg=name)
            difference = float(np.nanmax(np.abs(other.astype(np.float64) - value),
                                         initial=0.0))
            assert difference <= WEIGHT_TOLERANCE, f"{name}: differs by {difference}"
            worst = max(worst, difference)
        else:
            np.testing.assert_array_equal(other, value, err_msg=name)
    print(f"{runs['path']}: largest difference of {len(names)} checkpointed values: {worst}")


def test_resumed_run_writes_the_same_history_rows(runs):
    whole = _history(runs["outs"]["whole"])
    resumed = _history(runs["outs"]["resumed"])
    assert [row["epoch"] for row in whole] == ["1", "2"]
    assert len(resumed) == len(whole)
    for a, b in zip(whole, resumed, strict=True):
        assert list(a) == list(b)
        assert {k: float(v) for k, v in b.items()} == pytest.approx(
            {k: float(v) for k, v in a.items()}, rel=1e-6, abs=0)
