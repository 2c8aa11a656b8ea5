"""Atomic writes and idempotence: an interrupted run followed by a re-run leaves exactly
the files of one clean run; a re-run of a finished run verifies and rewrites nothing."""

import pytest

import data_prep.prepared as prepared
import tests.support.data_prep_fixtures as F
from asnet_keras.io.atomic_files import TMP_PREFIX
from data_prep.runner import prepare
from tests.support.helpers import file_contents


def tree(root):
    """{relative path: bytes} of the prepared tree (the extraction cache excluded)."""
    return file_contents(root, skip_dirs=(".extract",))


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    F.make_dut_omron(raw, zipped=True)
    return raw


@pytest.fixture(scope="module")
def clean(raw, tmp_path_factory):
    dst = tmp_path_factory.mktemp("clean")
    rep = prepare("dut-omron", raw, dst, quiet=True)
    assert rep.fatal is None and rep.rejects == []
    return tree(dst)


@pytest.mark.parametrize("stop_after", [0, 1, 4, 7])
def test_interrupted_then_rerun_equals_clean_run(raw, clean, tmp_path, monkeypatch, stop_after):
    calls = {"n": 0}
    real = prepared.write_if_changed

    def interrupted(path, data):
        if calls["n"] == stop_after:
            # die in the middle of writing: half the bytes in the temporary file
            tmp = path.with_name(f"{TMP_PREFIX}99999-{path.name}")  # a dead writer's
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data[: len(data) // 2])
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(path, data)

    monkeypatch.setattr(prepared, "write_if_changed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare("dut-omron", raw, tmp_path, quiet=True)
    assert not (tmp_path / "dut-omron" / "meta.json").exists()
    monkeypatch.setattr(prepared, "write_if_changed", real)
    # an extraction that was cut short leaves only a .partial folder, which is redone
    partial = tmp_path / ".extract" / "dut-omron" / "DUT-OMRON-eye-fixations.zip.partial"
    partial.mkdir(parents=True, exist_ok=True)
    (partial / "half.mat").write_bytes(b"MATLAB")
    rep = prepare("dut-omron", raw, tmp_path, quiet=True)
    assert rep.fatal is None and rep.rejects == []
    assert tree(tmp_path) == clean


def test_rerun_verifies_without_rewriting_and_repairs_damage(raw, clean, tmp_path):
    prepare("dut-omron", raw, tmp_path, quiet=True)
    mask = tmp_path / "dut-omron" / "train" / "masks" / "im001.png"
    stamp = mask.stat().st_mtime_ns
    rep = prepare("dut-omron", raw, tmp_path, quiet=True)
    assert rep.io["written"] == 0 and rep.io["verified"] == 8  # 2 images x 4 files
    assert mask.stat().st_mtime_ns == stamp
    # damage one file and leave a stale file from another run: both are put right
    mask.write_bytes(b"damaged")
    F.write(tmp_path / "dut-omron" / "train" / "images" / "stale.jpg", b"old")
    rep = prepare("dut-omron", raw, tmp_path, quiet=True)
    assert rep.io["written"] == 1
    assert tree(tmp_path) == clean


@pytest.mark.parametrize("workers", [1, 3])
def test_output_does_not_depend_on_thread_count(raw, clean, tmp_path, workers):
    rep = prepare("dut-omron", raw, tmp_path, quiet=True, workers=workers)
    assert rep.fatal is None
    assert tree(tmp_path) == clean
