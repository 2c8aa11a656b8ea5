"""Full disk (docs/data_integrity.md §5): a backup, model file, map or prepared file that
cannot be written completely leaves the previous one intact and stops with a message.

Two kinds of test: an ENOSPC injected at the write (runs everywhere), and a real full
disk — a 3 MiB tmpfs mounted in a private user and mount namespace (`unshare`), skipped
where the system does not allow that."""

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from asnet_keras.io import atomic_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _FullDiskFile:
    """A file object that writes `room` bytes, then fails with ENOSPC (as write(2) does)."""

    def __init__(self, path, mode, room):
        self._f = open(path, mode)
        self._room = room

    def write(self, data):
        if len(data) > self._room:
            self._f.write(data[: self._room])
            self._f.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _full_disk_open(room=10):
    return lambda path, mode="r", *a, **k: (
        _FullDiskFile(path, mode, room) if "w" in mode else open(path, mode, *a, **k))


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith(".") or "tmp" in n)


def test_atomic_write_keeps_the_previous_file_on_enospc(tmp_path, monkeypatch):
    target = tmp_path / "history.csv"
    target.write_text("epoch,loss\n1,0.5\n")
    monkeypatch.setattr(atomic_files, "open", _full_disk_open(), raising=False)
    with pytest.raises(atomic_files.OutputWriteError) as failed:
        atomic_files.atomic_write_text(target, "epoch,loss\n1,0.5\n2,0.4\n")
    assert failed.value.no_room and failed.value.errno == errno.ENOSPC
    message = str(failed.value)
    assert str(target) in message and "No space left on device" in message
    assert "free on that file system" in message and "previous version" in message
    assert target.read_text() == "epoch,loss\n1,0.5\n"
    assert _leftovers(tmp_path) == []


def test_other_errors_pass_through_and_leave_nothing(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("{}")
    with pytest.raises(ZeroDivisionError):
        with atomic_files.atomic_output(target) as tmp:
            open(tmp, "w").write("partial")
            1 / 0
    assert target.read_text() == "{}" and _leftovers(tmp_path) == []


def test_no_room_is_recognised_in_tensorflow_and_hdf5_messages():
    assert atomic_files.is_no_room(OSError(errno.EDQUOT, "quota"))
    assert atomic_files.is_no_room(RuntimeError(
        "Can't decrement id ref count (file write failed: errno = 28, error message = 'No "
        "space left on device')"))
    try:
        try:
            raise OSError(errno.ENOSPC, "x")
        except OSError as inner:
            raise ValueError("wrapped") from inner
    except ValueError as outer:
        assert atomic_files.is_no_room(outer)
    assert not atomic_files.is_no_room(ValueError("shapes differ"))


def _tiny_checkpoint(folder):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, global_step=step)
    return model, checkpoint, tf.train.CheckpointManager(checkpoint, folder, max_to_keep=2)


def test_injected_enospc_during_a_backup_keeps_the_previous_backup_loadable(tmp_path,
                                                                              monkeypatch):
    import tensorflow as tf

    folder = str(tmp_path / "backup")
    model, checkpoint, manager = _tiny_checkpoint(folder)
    for step in (1, 2):
        model.layers[0].kernel.assign(np.full((8, 4), float(step), np.float32))
        atomic_files.save_checkpoint(manager, step)
    model.layers[0].kernel.assign(np.full((8, 4), 3.0, np.float32))

    def write_half_then_fail(self, prefix, options=None):
        # what TensorFlow leaves when the disk fills half-way: temp shards, a short index
        os.makedirs(prefix + "_temp", exist_ok=True)
        open(os.path.join(prefix + "_temp", "part-00000-of-00001.data-00000-of-00001"),
             "wb").write(b"\0" * 100)
        open(prefix + ".index", "wb").write(b"\1" * 10)
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{prefix}_temp/part-00000-of-00001.data-00000-of-00001; No space "
            "left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "_write", write_half_then_fail)
    with pytest.raises(atomic_files.OutputWriteError) as failed:
        atomic_files.save_checkpoint(manager, 3)
    monkeypatch.undo()
    message = str(failed.value)
    assert "ckpt-3 could not be written completely" in message
    assert f"the last complete backup is {os.path.join(folder, 'ckpt-2')}" in message
    assert sorted(os.listdir(folder)) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
        "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    # what a resumed run does: the state file names ckpt-2, and it restores
    assert tf.train.latest_checkpoint(folder) == os.path.join(folder, "ckpt-2")
    fresh, fresh_checkpoint, _ = _tiny_checkpoint(str(tmp_path / "other"))
    fresh_checkpoint.restore(tf.train.latest_checkpoint(folder)).assert_existing_objects_matched()
    np.testing.assert_array_equal(fresh.layers[0].kernel.numpy(), np.full((8, 4), 2.0))
    # once there is room again, the next backup works
    assert atomic_files.save_checkpoint(manager, 3) == os.path.join(folder, "ckpt-3")


def test_model_files_keep_their_previous_version(tmp_path, monkeypatch):
    import keras

    from asnet_keras.training import run_folder as train

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    model.layers[0].kernel.assign(np.ones((3, 2), np.float32))
    train.save_model_files(model, str(tmp_path), "last")
    before = {n: (tmp_path / n).read_bytes() for n in ("last.keras", "last.h5", "last.weights.h5")}
    model.layers[0].kernel.assign(np.zeros((3, 2), np.float32))

    def save_until_full(path, *args, **kwargs):
        open(path, "wb").write(b"PK\3\4 partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(model, "save", save_until_full)
    with pytest.raises(atomic_files.OutputWriteError, match="last.keras could not be written"):
        train.save_model_files(model, str(tmp_path), "last")
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert _leftovers(tmp_path) == []
    loaded = keras.models.load_model(tmp_path / "last.keras")
    np.testing.assert_array_equal(loaded.layers[0].kernel.numpy(), np.ones((3, 2)))


def test_data_prep_writes_behave_the_same(tmp_path, monkeypatch, capsys):
    from asnet_keras.commands.prepare import main as data_prep_main

    target = tmp_path / "list.txt"
    target.write_bytes(b"a\n")
    monkeypatch.setattr(atomic_files, "open", _full_disk_open(room=1), raising=False)
    with pytest.raises(atomic_files.OutputWriteError) as failed:
        atomic_files.write_if_changed(target, b"a\nb\n")  # how data_prep writes
    assert failed.value.no_room and "No space left on device" in str(failed.value)
    assert target.read_bytes() == b"a\n" and _leftovers(tmp_path) == []
    # the command line stops with the message, exit status 1 (the work failed)
    assert data_prep_main(["synthetic", "--dst", str(tmp_path / "d"), "--n", "2", "--size",
                           "32", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "could not be written completely (No space left on device)" in err
    assert "run the same command again" in err


class _ConstantModel:
    """A stand-in for a model (what `inference.maps.MapPipeline` uses of one): a map of
    ones for every image."""

    inputs = [type("Input", (), {"shape": (None, 4, 4, 3)})()]
    output_names = ["saliency_conv1"]

    def predict_on_batch(self, images):
        return [np.ones((len(images), 4, 4, 1), np.float32)]


def test_predict_stops_when_the_disk_is_full(tmp_path, monkeypatch, capsys):
    import cv2

    from asnet_keras.commands import predict

    images = []
    for i in range(3):
        images.append(str(tmp_path / f"img{i}.png"))
        cv2.imwrite(images[-1], np.full((12, 16, 3), 40 * i, np.uint8))
    out = tmp_path / "maps"
    os.makedirs(out / "saliency")
    (out / "saliency" / "img0.png").write_bytes(b"from an earlier run")
    monkeypatch.setattr(predict, "open_model", lambda path, precision="f32": _ConstantModel())
    monkeypatch.setattr(atomic_files, "open", _full_disk_open(), raising=False)
    status = predict.main([*images, "--weights", "w.keras", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert "img0.png could not be written completely (No space left on device)" in err
    assert "Stopped" in err and "img1" not in err  # stopped at the first failure
    assert (out / "saliency" / "img0.png").read_bytes() == b"from an earlier run"
    assert _leftovers(out / "saliency") == []


# ----------------------------------------------------------------------------------
# A real full disk


def _can_mount_tmpfs(folder):
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         f"mount -t tmpfs -o size=64k tmpfs {folder}"],
        capture_output=True, timeout=30)
    return probe.returncode == 0


REAL_DISK_SCRIPT = textwrap.dedent("""
    import errno, json, os, sys
    import numpy as np
    import keras, tensorflow as tf
    from asnet_keras.io import atomic_files
    from asnet_keras.training import run_folder as train

    disk = sys.argv[1]
    found = {}
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(256)])
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(disk, "backup"), 2)
    model.layers[0].kernel.assign(np.full((256, 256), 1.0, np.float32))
    atomic_files.save_checkpoint(manager, 1)
    train.save_model_files(model, disk, "last")
    with open(os.path.join(disk, "prepared.png"), "wb") as f:
        f.write(b"old")
    # fill the disk, then free 100 KiB: less than one backup (~800 KiB)
    with open(os.path.join(disk, "filler"), "wb") as f:
        try:
            while True:
                f.write(b"\\0" * 65536)
                f.flush()
        except OSError as error:
            found["filler_errno"] = error.errno
    os.truncate(os.path.join(disk, "filler"), os.path.getsize(os.path.join(disk, "filler"))
                - 100 * 1024)
    model.layers[0].kernel.assign(np.full((256, 256), 2.0, np.float32))
    for name, call in (
        ("backup", lambda: atomic_files.save_checkpoint(manager, 2)),
        ("model", lambda: train.save_model_files(model, disk, "last")),
        ("data_prep", lambda: atomic_files.write_if_changed(
            __import__("pathlib").Path(disk, "prepared.png"), os.urandom(400_000))),
    ):
        try:
            call()
            found[name] = "written"
        except OSError as error:
            found[name] = [type(error).__name__, getattr(error, "no_room", None), str(error)]
    found["latest"] = tf.train.latest_checkpoint(os.path.join(disk, "backup"))
    fresh = keras.Sequential([keras.Input((256,)), keras.layers.Dense(256)])
    fresh_optimizer = keras.optimizers.Adam(1e-3)
    fresh_optimizer.build(fresh.trainable_variables)
    tf.train.Checkpoint(model=fresh, optimizer=fresh_optimizer).restore(found["latest"])
    found["restored"] = float(fresh.layers[0].kernel.numpy().mean())
    found["last_keras"] = float(keras.models.load_model(os.path.join(disk, "last.keras"))
                                .layers[0].kernel.numpy().mean())
    found["prepared"] = open(os.path.join(disk, "prepared.png"), "rb").read().decode()
    found["files"] = sorted(os.listdir(disk)) + sorted(os.listdir(os.path.join(disk, "backup")))
    os.remove(os.path.join(disk, "filler"))
    found["after_freeing"] = atomic_files.save_checkpoint(manager, 2)
    print("RESULT " + json.dumps(found))
""")


def test_real_full_disk_keeps_every_previous_file(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _can_mount_tmpfs(disk):
        pytest.skip("cannot mount a private tmpfs here (unshare --user --mount not allowed)")
    script = tmp_path / "full_disk.py"
    script.write_text(REAL_DISK_SCRIPT)
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         f"mount -t tmpfs -o size=3m tmpfs {disk} && exec {sys.executable} {script} {disk}"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    found = json.loads(lines[0][len("RESULT "):])
    assert found["filler_errno"] == errno.ENOSPC
    for name in ("backup", "model", "data_prep"):
        kind, no_room, message = found[name]
        assert no_room is True, found[name]
        assert "No space left on device" in message, message
    assert found["backup"][0] == "OutputWriteError" and found["data_prep"][0] == "OutputWriteError"
    assert "the last complete backup is" in found["backup"][2]
    assert found["latest"].endswith("ckpt-1") and found["restored"] == 1.0
    assert found["last_keras"] == 1.0 and found["prepared"] == "old"
    assert not [n for n in found["files"] if "tmp" in n or "ckpt-2" in n], found["files"]
    assert found["after_freeing"].endswith("ckpt-2")
