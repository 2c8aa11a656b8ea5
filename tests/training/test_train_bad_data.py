"""Bad data never costs a training run (docs/data_integrity.md §1–3), end to end with
`asnet train` at 32 px on the synthetic data:

- a truncated image, a junk mask and a list entry whose files are missing: the run
  refuses before its first step and names all three; with `--on-bad-sample skip` it
  finishes and reports them;
- with `--verify-data off` it stops at the damaged sample, naming it, with its last
  backup intact, and the same command resumes once the file is restored;
- with `--verify-data off --on-bad-sample skip` the samples met in training (and in
  validation) are skipped, counted in history.csv and listed in finished.json.
"""

import csv
import json
import os
import subprocess

import pytest

from tests.support.bad_data_fixtures import copy_tree, damage_three, junk, remove_entry, truncate
from data_prep.synthetic import make_synthetic
from tests.support.training_runs import REPO, SYNTHETIC, command, environment

SLOW = pytest.mark.slow  # the tests that train a 32-px model for 3 steps (~15-30 s each)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    make_synthetic(root, n=8, size=48)
    return str(root)


def run(root, out, *extra, timeout=400):
    return subprocess.run(command(root, out, "--epochs", "1", *extra), cwd=REPO,
                          env=environment(), capture_output=True, text=True, timeout=timeout)


def first_seen_at(root, step):
    """A training sample of batch `step` (0-based) that no earlier batch reads."""
    from asnet_keras.data import pipeline as data

    earlier = {(s.dataset, s.id) for k in range(step)
               for s in data.planned_batch(root, SYNTHETIC.split(","), 4, 0, k)}
    for sample in data.planned_batch(root, SYNTHETIC.split(","), 4, 0, step):
        if (sample.dataset, sample.id) not in earlier:
            return sample
    raise AssertionError(f"batch {step} reads no new sample")


def finished(out):
    with open(os.path.join(out, "finished.json")) as f:
        return json.load(f)


def history(out):
    with open(os.path.join(out, "history.csv")) as f:
        return list(csv.DictReader(f))


@SLOW
def test_damaged_data_is_refused_before_the_first_step_then_skipped(clean, tmp_path):
    root = copy_tree(clean, tmp_path / "prepared")
    named = damage_three(root)
    out = str(tmp_path / "run")
    refused = run(root, out)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    err = refused.stderr
    assert "Traceback" not in err
    assert f"{named['truncated']}: truncated: no JPEG end-of-image marker" in err
    assert f"{named['junk']}: not a PNG file" in err
    assert (f"{named['missing']}: lists '{named['missing_id']}' but none of its files exist"
            in err)
    assert f"repair: asnet prepare synthetic --dst {root} --n 8" in err
    assert "Training stopped before its first step" in err
    assert not os.path.exists(out)  # nothing written, not even the folder

    skipped = run(root, out, "--on-bad-sample", "skip")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    report = finished(out)
    assert report["skipped_sample_count"] == 3
    assert sorted(r["file"] for r in report["skipped_samples"]) == sorted(
        [named["truncated"], named["junk"], named["missing"]])
    assert {r["found"] for r in report["skipped_samples"]} == {"verification"}
    assert [row["skipped_samples"] for row in history(out)] == ["3"]
    for path in (named["truncated"], named["junk"], named["missing"]):
        assert path in skipped.stdout
    assert "3 sample(s) were skipped as unreadable" in skipped.stdout


@SLOW
def test_verify_off_stops_at_the_damaged_sample_and_the_same_command_resumes(clean, tmp_path):
    root = copy_tree(clean, tmp_path / "prepared")
    sample = first_seen_at(root, 1)
    original = truncate(sample.image)
    out = str(tmp_path / "run")
    stopped = run(root, out, "--verify-data", "off")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    err = stopped.stderr
    assert "Traceback" not in err and "InvalidArgumentError" not in err
    assert "training stopped at epoch 1, step 2/3 (global step 2)" in err
    assert (f"{sample.image} ({sample.dataset}/train/{sample.id}): truncated: no JPEG "
            "end-of-image marker") in err
    backup = os.path.join(out, "backup", "ckpt-1")
    assert f"it is intact ({backup})" in err
    assert sorted(os.listdir(os.path.join(out, "backup"))) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index"]
    assert not os.path.exists(os.path.join(out, "train.lock"))

    with open(sample.image, "wb") as f:
        f.write(original)
    resumed = run(root, out, "--verify-data", "off")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"Resuming {out} from epoch 1, step 1/3 (backup {backup})" in resumed.stdout
    assert finished(out)["epochs"] == 1 and finished(out)["skipped_sample_count"] == 0


@SLOW
def test_skip_during_training_and_validation_is_counted_and_reported(clean, tmp_path):
    root = copy_tree(clean, tmp_path / "prepared")
    at_step_2 = first_seen_at(root, 1)
    truncate(at_step_2.image)
    at_step_3 = first_seen_at(root, 2)
    bad_label = at_step_3.mask or at_step_3.fixmap
    junk(bad_label)
    gone = first_seen_at(root, 0)
    remove_entry(root, gone.dataset, "train", gone.id)
    val_image = os.path.join(root, "synthetic-sod", "val", "images", "val_00001.jpg")
    truncate(val_image)
    out = str(tmp_path / "run")
    result = run(root, out, "--verify-data", "off", "--on-bad-sample", "skip")
    assert result.returncode == 0, result.stdout + result.stderr
    records = {r["file"]: r for r in finished(out)["skipped_samples"]}
    assert set(records) == {at_step_2.image, bad_label, gone.image, val_image}
    assert records[gone.image]["found"] == "missing before training"
    assert records[at_step_2.image]["found"] == "training, epoch 1, step 2/3 (global step 2)"
    assert records[at_step_2.image]["reason"].startswith("truncated")
    assert records[bad_label]["found"] == "training, epoch 1, step 3/3 (global step 3)"
    assert records[bad_label]["reason"].startswith("not a PNG file")
    assert records[val_image]["found"] == "validation after epoch 1"
    assert [row["skipped_samples"] for row in history(out)] == ["4"]
    for path in records:
        assert f"{path}: " in result.stdout
    with open(os.path.join(out, "skipped_samples.json")) as f:
        assert json.load(f)["count"] == 4


def test_the_failing_file_of_a_batch_is_found(clean, tmp_path):
    """What the trainer does when a step fails: re-plan the batch, decode its files with
    the pipeline's ops, name the culprit (no training here)."""
    from asnet_keras.data import pipeline as data
    from asnet_keras.training import bad_samples

    root = copy_tree(clean, tmp_path / "prepared")
    batch = data.planned_batch(root, SYNTHETIC.split(","), 4, 0, 1)
    deleted, damaged = batch[0], batch[1]
    os.remove(deleted.image)  # deleted while the run was going
    truncate(damaged.image)
    again = data.planned_batch(root, SYNTHETIC.split(","), 4, 0, 1)
    assert [s.id for s in again] == [s.id for s in batch]
    problems = bad_samples.find_bad_files(again, {})
    assert {p.path: p.reason.split(":")[0] for p in problems} == {
        deleted.image: "missing", damaged.image: "truncated"}
    assert problems[0].key == (deleted.dataset, "train", deleted.id)
    # a skipped sample is read as a zero-weight stand-in: the batch keeps its plan
    skip = {(deleted.dataset, "train", deleted.id)}
    stood_in = data.planned_batch(root, SYNTHETIC.split(","), 4, 0, 1, skip)[0]
    assert stood_in.id == deleted.id and stood_in.image != deleted.image
    assert stood_in.mask is stood_in.fixmap is None


def test_tensorflow_messages_are_shortened():
    from asnet_keras.training.bad_samples import error_text

    class Fake(Exception):
        message = ("{{function_node __wrapped__IteratorGetNext_output_types_14_device_/job:"
                   "localhost/replica:0/task:0/device:CPU:0}} jpeg::Uncompress failed. Invalid "
                   "JPEG data or crop window.\n\t [[{{node DecodeImage}}]] [Op:IteratorGetNext] "
                   "name: ")

    assert error_text(Fake()) == "jpeg::Uncompress failed. Invalid JPEG data or crop window."
