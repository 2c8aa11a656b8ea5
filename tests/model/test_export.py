"""`asnet export` writes a model that plain Keras loads, and that matches."""

import json
import os

import keras
import numpy as np
import pytest

from asnet_keras.commands import export
from asnet_keras.export.portable import export_portable
from asnet_keras.model import build_asnet
from tests.support.export_runs import load_elsewhere

# Loads with nothing but Keras, in a fresh process that cannot import asnet_keras.
_LOAD_ELSEWHERE = """
import keras, numpy as np
images = np.load("images.npy")
for name in ("m.keras", "m.h5"):
    model = keras.models.load_model(name, compile=False, safe_mode=True)
    outputs = model.predict_on_batch(images)
    np.savez(name + ".npz", *outputs, names=np.array(model.output_names))
print("loaded without asnet_keras:", [m for m, v in sys.modules.items() if m.split(".")[0] == "asnet_keras" and v])
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A `static` model with random weights, saved as training leaves it, with config.json."""
    run = tmp_path_factory.mktemp("run")
    model = build_asnet((32, 32, 3), backbone_weights=None, fixation_28=True)
    rng = np.random.default_rng(0)
    model.set_weights(
        [w * rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()]
    )
    model.save_weights(run / "model.weights.h5")
    (run / "config.json").write_text(json.dumps({"input_size": 32, "fixation_28": True}))
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = [keras.ops.convert_to_numpy(o) for o in model(images, training=False)]
    return run, images, expected, list(model.output_names)


@pytest.mark.backend_heavy  # .keras across processes and backends: tests/test_backends.py
def test_export_loads_without_asnet_keras_and_matches(trained, tmp_path):
    run, images, expected, names = trained
    for suffix in (".keras", ".h5"):
        code = export.main(["--weights", str(run / "model.weights.h5"),
                            "--out", str(tmp_path / f"m{suffix}")])
        assert code == 0
    np.save(tmp_path / "images.npy", images)

    result = load_elsewhere(_LOAD_ELSEWHERE, tmp_path)
    assert "loaded without asnet_keras: []" in result.stdout
    for suffix in (".keras", ".h5"):
        saved = np.load(tmp_path / f"m{suffix}.npz")
        assert list(saved["names"]) == names  # config.json's fixation_28 was honoured
        for i, want in enumerate(expected):
            got = saved[f"arr_{i}"]
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_export_refuses_weights_only_output_and_wrong_options(trained, tmp_path, capsys):
    run, _, _, _ = trained
    weights = str(run / "model.weights.h5")
    assert export.main(["--weights", weights, "--out", str(tmp_path / "x.weights.h5")]) == 2
    assert ".keras" in capsys.readouterr().err
    # Flags add to config.json; the `w/o convLSTM` network does not fit these weights.
    assert export.main(["--weights", weights, "--out", str(tmp_path / "x.keras"),
                        "--no-convlstm"]) == 2
    message = capsys.readouterr().err
    assert "does not fit" in message and "--no-convlstm" in message
    assert len(message) < 2000 and not (tmp_path / "x.keras").exists()


def test_help_explains_the_command(capsys):
    assert export.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "keras.models.load_model" in text and "config.json" in text


def test_export_takes_a_training_run_folder(trained, tmp_path):
    """A run folder as `asnet train` leaves it: best.weights.h5 + config.json."""
    import shutil

    run, images, expected, names = trained
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(run / "model.weights.h5", folder / "best.weights.h5")
    shutil.copy(run / "config.json", folder / "config.json")
    result = export_portable(folder, tmp_path / "from_run.keras")
    assert result["max_abs_difference"] <= 1e-4
    model = keras.models.load_model(tmp_path / "from_run.keras", compile=False)
    assert list(model.output_names) == names  # fixation_28 from the run's config.json
    for got, want in zip(model.predict(images, verbose=0), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_weights_are_a_flag_and_usage_errors_exit_2(trained, tmp_path, capsys):
    run, _, _, _ = trained
    out = str(tmp_path / "m.keras")
    for argv in ([str(run / "model.weights.h5"), "--out", out],  # positional, as before
                 ["--out", out]):  # no --weights at all
        assert export.main(argv) == 2
        assert "--weights" in capsys.readouterr().err
    assert export.main(["--weights", str(tmp_path / "none.keras"), "--out", out]) == 2
    assert "none.keras: no such model" in capsys.readouterr().err
    assert export.main(["--weights", str(run / "config.json"), "--out", out]) == 2
    assert "config.json: not a Keras model file" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_a_failed_check_exits_1_and_a_missing_package_2(trained, tmp_path, capsys, monkeypatch):
    from asnet_keras.export import check, formats

    run, _, _, _ = trained
    weights = str(run / "model.weights.h5")
    monkeypatch.setattr(check, "CHECK_TOLERANCE", -1.0)  # no file can pass
    assert export.main(["--weights", weights, "--out", str(tmp_path / "m.keras")]) == 1
    assert "m.keras: the keras file does not reproduce the Keras model" in capsys.readouterr().err
    monkeypatch.setitem(formats._WRITE_MODULES, "onnx", {"no_such_module": "deploy"})
    assert export.main(["--weights", weights, "--out", str(tmp_path / "m.onnx")]) == 2
    # Under another Keras backend (make test-jax) the backend is what is missing.
    missing = ("needs the module 'no_such_module', which is not installed: install the "
               "'deploy' extra, pip install 'asnet-keras[deploy]'"
               if keras.backend.backend() == "tensorflow"
               else "KERAS_BACKEND=tensorflow")
    assert missing in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
