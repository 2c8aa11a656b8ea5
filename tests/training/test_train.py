"""`asnet train` (docs/model.md §3): a two-epoch run at 32 px on the
synthetic data, killed with SIGKILL in its second epoch and started again with the same
command, must finish with every output of the run folder, a lower validation loss, and
history and TensorBoard logs that continue the first process's. While the first runs, a
second command into the same folder is refused (docs/data_integrity.md §4); after the
kill -9 its lock does not block the resume."""

import csv
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from asnet_keras.commands import train as train_module
from asnet_keras.training import loop, run_folder
from data_prep.synthetic import make_synthetic

pytestmark = pytest.mark.slow  # subprocess runs; `make test-fast` leaves them out

from tests.support.training_runs import (  # noqa: E402
    REPO,
    STEPS,
    SYNTHETIC,
    backup_of_step,
    held_after_backup,
    command,
    environment,
    kill_when_held,
    start,
)


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """Run, SIGKILL once the backup of the first step of epoch 2 is written (the run holds
there: tests/support/hold_after_backup.py), run the same again."""
    base = tmp_path_factory.mktemp("train")
    root, out = str(base / "prepared"), str(base / "run")
    make_synthetic(root, n=8, size=48)
    hold, marker = held_after_backup(out, STEPS + 1)
    first = start(command(root, out), environment(**hold))
    lock = os.path.join(out, "train.lock")
    while not (os.path.exists(lock) and os.path.getsize(lock)):
        assert first.poll() is None, first.communicate()[0]
        time.sleep(0.05)
    concurrent = subprocess.run(command(root, out), cwd=REPO, env=environment(),
                                capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the concurrent one was tried"
    first_output = kill_when_held(first, marker)
    assert os.path.exists(backup_of_step(out, STEPS + 1))
    with open(os.path.join(out, "history.csv")) as f:
        history_before = list(csv.DictReader(f))
    events_before = sorted(glob.glob(os.path.join(out, "logs", "train", "events.*")))
    second = subprocess.run(command(root, out), cwd=REPO, env=environment(),
                            capture_output=True, text=True, timeout=400)
    assert second.returncode == 0, second.stdout + second.stderr
    return {
        "root": root, "out": out, "first_output": first_output, "second": second,
        "history_before": history_before, "events_before": events_before,
        "concurrent": concurrent, "first_pid": first.pid,
    }


def test_concurrent_run_is_refused_and_kill_9_leaves_no_blocking_lock(killed_and_resumed):
    concurrent = killed_and_resumed["concurrent"]
    assert concurrent.returncode == 1
    assert (f"is in use by another training run: process {killed_and_resumed['first_pid']} "
            "on host") in concurrent.stderr
    assert "Traceback" not in concurrent.stderr
    # the resume after kill -9 was not blocked (the fixture asserts its exit status 0),
    # and a finished run leaves no lock file behind
    assert "Resuming" in killed_and_resumed["second"].stdout
    assert not os.path.exists(os.path.join(killed_and_resumed["out"], "train.lock"))


def test_two_epoch_run_writes_every_output_and_lowers_val_loss(killed_and_resumed):
    out = killed_and_resumed["out"]
    for name in run_folder.RESULT_FILES + ("config.json", "history.csv", "finished.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    assert os.path.isdir(os.path.join(out, "backup"))
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["input_size"] == 32 and config["fixation_28"] is False
    assert config["fixation_head"] is True and config["use_convlstm"] is True
    assert config["variant"] == "full" and config["loss_variant"] == "full"
    assert config["config"] == "paper" and config["recurrence"] in ("static", "stock")
    assert config["datasets"] == SYNTHETIC.split(",")
    assert config["data"] == killed_and_resumed["root"]
    for field in train_module.TrainConfig.__dataclass_fields__:
        assert field in config, field
    with open(os.path.join(out, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for key in ("lr", "loss", "val_loss", "fixation_loss", "saliency_conv1_loss",
                "val_fixation_loss", "val_saliency_conv5_loss"):
        assert all(np.isfinite(float(r[key])) for r in rows), key
    assert float(rows[1]["val_loss"]) < float(rows[0]["val_loss"])
    assert float(rows[0]["lr"]) == pytest.approx(3e-4)
    with open(os.path.join(out, "finished.json")) as f:
        finished = json.load(f)
    assert finished["epochs"] == 2 and finished["best_epoch"] == 2
    assert finished["best_val_loss"] == pytest.approx(float(rows[1]["val_loss"]))


def test_killed_run_resumes_mid_epoch_and_continues_its_logs(killed_and_resumed):
    out = killed_and_resumed["out"]
    second = killed_and_resumed["second"].stdout
    assert "Resuming" in second and "from epoch 2, step" in second, second
    assert "Starting" not in second
    # history.csv continues: epoch 1's row is the first process's, untouched.
    before = killed_and_resumed["history_before"]
    assert len(before) == 1
    with open(os.path.join(out, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == before[0]
    # TensorBoard: the first process's event file stays; the second adds epoch 2 only.
    import tensorflow as tf

    events = sorted(glob.glob(os.path.join(out, "logs", "train", "events.*")))
    assert killed_and_resumed["events_before"][0] in events and len(events) == 2

    def epoch_steps(path):
        return sorted(
            e.step for e in tf.compat.v1.train.summary_iterator(path)
            for v in e.summary.value if v.tag == "epoch_loss"
        )

    new = [p for p in events if p not in killed_and_resumed["events_before"]][0]
    assert epoch_steps(killed_and_resumed["events_before"][0]) == [1]
    assert epoch_steps(new) == [2]


def test_finished_run_is_not_redone(killed_and_resumed):
    again = subprocess.run(command(killed_and_resumed["root"], killed_and_resumed["out"]),
                           cwd=REPO, env=environment(), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "already finished" in again.stdout


def test_saved_models_load_in_every_format(killed_and_resumed):
    from asnet_keras.inference.loading import load_asnet

    out = killed_and_resumed["out"]
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    reference = load_asnet(out).predict(images, verbose=0)
    rebuilt = load_asnet(os.path.join(out, "best.weights.h5")).predict(images, verbose=0)
    assert len(reference) == 6
    for a, b in zip(reference, rebuilt, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_cli_defaults_are_the_papers():
    config = train_module.parse_args([])
    assert config.datasets == ("salicon", "thus10k", "dut-omron")
    assert (config.input_size, config.batch_size, config.epochs) == (224, 10, 12)
    assert (config.learning_rate, config.lr_decay_factor, config.lr_decay_epochs) == (1e-4, 0.1, 2)
    assert config.backbone_weights == "imagenet" and config.variant == "full"
    assert config.strategy == "none" and config.mixed_precision == "none"
    parsed = train_module.parse_args(["--datasets", "a,b", "--fixation-28", "--no-augment"])
    assert parsed.datasets == ("a", "b") and parsed.fixation_28 and not parsed.augment
    json.dumps(parsed.to_json())


def test_missing_datasets_stop_before_any_work(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "asnet_keras", "train", "--data", str(tmp_path), "--out",
         str(tmp_path / "run")], cwd=REPO, env=environment(), capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 2  # a path that holds no prepared data: a usage error
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    for name in ("salicon", "thus10k", "dut-omron"):
        assert f"{name}: run `asnet prepare {name}" in result.stderr
    assert not os.path.exists(tmp_path / "run")


def test_resuming_with_another_configuration_is_refused(killed_and_resumed, tmp_path):
    out = tmp_path / "other"
    out.mkdir()
    with open(os.path.join(killed_and_resumed["out"], "config.json")) as f:
        config = json.load(f)
    config["input_size"] = 64
    with open(out / "config.json", "w") as f:
        json.dump(config, f)
    with pytest.raises(ValueError, match="another configuration"):
        run_folder.check_resumable(str(out), dict(config, input_size=32))


def test_nan_weights_stop_the_run_before_saving():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")])
    loop._check_weights(model, 0, "backup")  # finite: no error
    model.get_layer("dense").kernel.assign([[float("nan")], [0.0]])
    with pytest.raises(train_module.TrainingDiverged, match="dense.*NaN/inf in epoch 1"):
        loop._check_weights(model, 0, "backup")


def test_early_stopping_counts_epochs_since_the_best_val_loss():
    config = train_module.TrainConfig(epochs=12, patience=3)
    rows = [{"epoch": i + 1, "val_loss": v} for i, v in enumerate([5.0, 4.0, 4.5, 4.2, 4.1])]
    assert run_folder.best_so_far(rows) == (2, 4.0, 3)
    assert loop._should_stop(rows, 5, config)
    assert not loop._should_stop(rows[:4], 4, config)
    assert loop._should_stop(rows[:2], 12, config)  # all epochs done
