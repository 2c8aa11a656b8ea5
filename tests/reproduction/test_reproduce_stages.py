"""The stage machinery of `asnet reproduce` (docs/reproduce.md §2): skipped when complete
with the same inputs, redone when the inputs changed, refused for training, resumed after
a failure; the fingerprints; the time estimate's arithmetic; the timing helper."""

import json
import os

import pytest

from asnet_keras.reproduction import estimate as estimating
from asnet_keras.reproduction.stages import (
    STATE_FILE,
    InputsChanged,
    Stage,
    State,
    _changes,
    content_fingerprint,
    run_stages,
    tree_fingerprint,
)
from asnet_keras.training.timing import StepTiming, time_calls


class Recorder:
    """Stages over a dict of inputs; records which ran."""

    def __init__(self, tmp_path):
        self.inputs = {"a": 1, "b": 1, "train": 1}
        self.ran, self.outputs_present, self.fail = [], {"a": True, "b": True}, set()
        self.work = True

    def stage(self, name, **kwargs):
        def run():
            if name in self.fail:
                raise RuntimeError(f"{name} failed")
            self.ran.append(name)
            return {"made": name}

        return Stage(name, f"does {name}", inputs=lambda: {"x": self.inputs[name]}, run=run,
                     complete=lambda entry: self.outputs_present.get(name, True), **kwargs)

    def stages(self):
        return [self.stage("a"), self.stage("b"),
                self.stage("train", redo_on_change=False, fresh_start="delete RUN",
                           work_on_disk=lambda: self.work)]


def test_a_complete_stage_is_skipped_and_its_entry_kept(tmp_path):
    r, lines = Recorder(tmp_path), []
    assert run_stages(r.stages(), State(tmp_path), lines.append) == dict.fromkeys(
        ("a", "b", "train"), "ran")
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert saved["stages"]["a"]["status"] == "complete"
    assert saved["stages"]["a"]["inputs"] == {"x": 1}
    assert saved["stages"]["a"]["outputs"] == {"made": "a"}
    r.ran.clear()
    lines.clear()
    assert run_stages(r.stages(), State(tmp_path), lines.append) == dict.fromkeys(
        ("a", "b", "train"), "skipped")
    assert r.ran == []
    assert lines[0].startswith("[reproduce 1/3] a: complete since ") and "skipped" in lines[0]
    assert json.loads((tmp_path / STATE_FILE).read_text()) == saved


def test_changed_inputs_or_missing_outputs_redo_a_stage(tmp_path):
    r = Recorder(tmp_path)
    run_stages(r.stages(), State(tmp_path), lambda line: None)
    r.ran.clear()
    r.inputs["b"] = 2  # b's inputs changed: b runs again, a does not
    r.outputs_present["a"] = False  # a's outputs went away: a runs again
    run_stages(r.stages(), State(tmp_path), lambda line: None)
    assert r.ran == ["a", "b"]
    assert State(tmp_path).get("b")["inputs"] == {"x": 2}


def test_training_with_changed_inputs_is_refused_while_its_work_is_there(tmp_path):
    r = Recorder(tmp_path)
    run_stages(r.stages(), State(tmp_path), lambda line: None)
    r.inputs["train"] = 2
    with pytest.raises(InputsChanged, match=r"train: its inputs changed .*\(changed: x\)"
                                            r".*delete RUN"):
        run_stages(r.stages(), State(tmp_path), lambda line: None)
    r.work = False  # the run folder was deleted, as the message says: it trains afresh
    r.ran.clear()
    run_stages(r.stages(), State(tmp_path), lambda line: None)
    assert r.ran == ["train"]


def test_a_failed_stage_stays_started_and_runs_again(tmp_path):
    r = Recorder(tmp_path)
    r.fail = {"b"}
    with pytest.raises(RuntimeError, match="b failed"):
        run_stages(r.stages(), State(tmp_path), lambda line: None)
    assert State(tmp_path).get("b")["status"] == "started"
    assert State(tmp_path).get("train") is None
    r.fail, r.ran = set(), []
    assert run_stages(r.stages(), State(tmp_path), lambda line: None) == {
        "a": "skipped", "b": "ran", "train": "ran"}


def test_what_changed_is_named_key_by_key():
    old = {"config": {"input_size": 224, "seed": 0}, "data": {"a": "1"}}
    new = {"config": {"input_size": 64, "seed": 0}, "data": {"a": "2", "b": "3"}}
    assert _changes(old, new) == ["config.input_size", "data.a", "data.b"]


def test_stop_after_ends_the_run_there(tmp_path):
    r = Recorder(tmp_path)
    assert run_stages(r.stages(), State(tmp_path), lambda line: None, stop_after="a") == {
        "a": "ran"}


def test_a_damaged_state_file_is_named(tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="state.json is not valid JSON"):
        State(tmp_path)


def test_fingerprints_follow_sizes_times_and_content(tmp_path):
    folder = tmp_path / "raw"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.jpg").write_bytes(b"12345")
    first = tree_fingerprint(folder)
    assert first["files"] == 1 and tree_fingerprint(folder) == first
    (folder / "b.jpg").write_bytes(b"")
    assert tree_fingerprint(folder)["files"] == 2
    os.utime(folder / "sub" / "a.jpg", ns=(1, 1))
    assert tree_fingerprint(folder)["sha256"] != first["sha256"]
    assert tree_fingerprint(folder / "b.jpg")["file"][0] == 0
    # content: sha256 of the bytes ("abc" → ba7816bf…), None when absent
    (tmp_path / "meta.json").write_bytes(b"abc")
    assert content_fingerprint({"x": tmp_path / "meta.json", "y": tmp_path / "no"}) == {
        "x": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "y": None}


def test_time_calls_warms_up_then_times_each_call():
    calls = []
    timing = time_calls(lambda: calls.append(1), calls=3, warmup=2)
    assert len(calls) == 5 and len(timing.first_s) == 2 and len(timing.seconds) == 3
    with pytest.raises(ValueError):
        time_calls(lambda: None, calls=0)


def test_the_estimate_adds_up_as_documented():
    # step 2 s (median of 1, 3, 2), first call 11 s: trace 11 - 2 = 9 s; setup 4 s.
    step = StepTiming(first_s=(11.0,), seconds=(1.0, 3.0, 2.0), setup_s=4.0).to_json()
    e = estimating.Estimate(step=step, input_size=224, batch_size=10, steps_per_epoch=100,
                            epochs=12, n_train=1000, n_val=95, n_test=500, n_notebooks=5)
    share, metrics = estimating.FORWARD_SHARE, estimating.METRICS_S_PER_IMAGE
    parts = e.parts
    assert parts["train"] == pytest.approx(4 + 9 + 2 * 100 * 12)  # 1,213 s
    assert parts["validation"] == pytest.approx((9 + 12 * 10 * 2) * share)  # ⌈95/10⌉ = 10
    assert parts["evaluate"] == pytest.approx(4 + 9 * share + 500 * (2 / 10 * share + metrics))
    assert parts["baseline"] == pytest.approx(500 * metrics)
    assert parts["notebooks"] == pytest.approx(5 * estimating.NOTEBOOK_S)
    assert e.total_s == pytest.approx(sum(parts.values()))
    assert e.stages["train"] == pytest.approx(parts["train"] + parts["validation"])
    assert estimating.Estimate.from_json(e.to_json()) == e
    text = "\n".join(e.lines())
    assert "2.000 s per step of 10 images at 224 px" in text
    assert "12 epochs × 100 steps" in text and "Estimated total:" in text
