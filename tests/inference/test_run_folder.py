"""One answer to "which file does a run folder mean": loading, the export and the commands
all go through `asnet_keras.inference.loading.resolve_model_path`."""

import json
import shutil

import cv2
import keras
import numpy as np
import pytest

from asnet_keras.commands import export as export_command
from asnet_keras.commands import predict
from asnet_keras.export.trained import load_trained
from asnet_keras.inference.loading import load_asnet, resolve_model_path
from asnet_keras.model import build_asnet

SIZE = 32


def _scaled(model, seed):
    """`model` with its weights scaled by a per-seed random factor (distinct weights)."""
    rng = np.random.default_rng(seed)
    model.set_weights([w * rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Two models of the same architecture with different weights: `best.keras` holds A,
    `best.weights.h5` holds B, so the weights loaded tell which file a folder meant."""
    folder = tmp_path_factory.mktemp("files")
    a = _scaled(build_asnet((SIZE, SIZE, 3), backbone_weights=None), seed=1)
    b = _scaled(build_asnet((SIZE, SIZE, 3), backbone_weights=None), seed=2)
    a.save(folder / "a.keras")
    b.save_weights(folder / "b.weights.h5")
    (folder / "config.json").write_text(json.dumps({"input_size": SIZE}))
    return folder, a.get_weights(), b.get_weights()


def _run_folder(tmp_path, files, source):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(source / "config.json", folder / "config.json")
    for name, stored in files.items():
        shutil.copy(source / stored, folder / name)
    return folder


def _same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_loading_and_export_read_best_keras_of_a_run_folder(weights, tmp_path):
    source, a, _ = weights
    folder = _run_folder(tmp_path, {"best.keras": "a.keras", "best.weights.h5": "b.weights.h5"},
                         source)
    assert resolve_model_path(folder) == str(folder / "best.keras")
    _same(load_asnet(folder).get_weights(), a)
    model, options = load_trained(folder)
    _same(model.get_weights(), a)
    assert options.input_size == SIZE


def test_a_run_folder_without_best_keras_means_its_best_weights(weights, tmp_path):
    source, _, b = weights
    folder = _run_folder(tmp_path, {"best.weights.h5": "b.weights.h5"}, source)
    assert resolve_model_path(folder) == str(folder / "best.weights.h5")
    _same(load_asnet(folder).get_weights(), b)
    _same(load_trained(folder)[0].get_weights(), b)


def test_a_folder_without_results_gets_one_message_everywhere(weights, tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(ValueError) as direct:
        resolve_model_path(folder)
    message = str(direct.value)
    assert str(folder) in message and "best.keras" in message and "best.weights.h5" in message
    for load in (load_asnet, load_trained):
        with pytest.raises(ValueError) as caught:
            load(folder)
        assert str(caught.value) == message
    assert export_command.main(["--weights", str(folder), "--out",
                                str(tmp_path / "m.keras")]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    assert predict.main([str(image), "--weights", str(folder), "--out", str(tmp_path / "o"),
                         "--quiet"]) == 2
    assert f"error: {message}\n" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()


def test_a_mixed_precision_run_is_exported_in_float32(weights, tmp_path):
    """best.keras of a `mixed_bfloat16` run: the export's source computes in float32, so
    its check passes and the file holds the run's weights (docs/deployment.md §2)."""
    from asnet_keras.export.portable import export_portable

    source, a, _ = weights
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_asnet((SIZE, SIZE, 3), backbone_weights=None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.set_weights(a)
    folder = tmp_path / "run"
    folder.mkdir()
    mixed.save(folder / "best.keras")
    shutil.copy(source / "config.json", folder / "config.json")

    model, _ = load_trained(folder)
    assert {layer.compute_dtype for layer in model.layers} == {"float32"}
    _same(model.get_weights(), a)
    report = export_portable(folder, tmp_path / "out.keras")
    assert report["max_abs_difference"] <= 1e-4
    images = np.random.default_rng(0).uniform(0, 255, (1, SIZE, SIZE, 3)).astype("float32")
    reference = keras.models.load_model(source / "a.keras", compile=False)
    exported = keras.models.load_model(tmp_path / "out.keras", compile=False)
    for got, want in zip(exported.predict(images, verbose=0), reference.predict(images, verbose=0), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
