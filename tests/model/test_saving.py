"""`save_model` (docs/framework_notes.md §4): a `.h5` file is written as before, without
Keras' per-save "HDF5 is legacy" warning; every other warning still shows."""

import logging

import keras
import numpy as np

from asnet_keras.model.saving import save_model

LEGACY = "You are saving your model as an HDF5 file"


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")])
    model.get_layer("dense").set_weights([np.array([[2.0], [-1.0]]), np.array([0.5])])
    return model


def _absl_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "absl"]


def test_plain_keras_warns_and_save_model_does_not(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="absl")
    model = _model()
    model.save(tmp_path / "plain.h5")  # what the filter is for: Keras warns at each save
    assert any(m.startswith(LEGACY) for m in _absl_messages(caplog))
    caplog.clear()
    save_model(model, tmp_path / "quiet.h5")
    save_model(model, tmp_path / "quiet.keras")
    assert _absl_messages(caplog) == []
    assert logging.getLogger("absl").filters == []  # removed again after the save
    x = np.array([[1.0, 3.0]], np.float32)  # 2·1 − 1·3 + 0.5 = −0.5
    for name in ("quiet.h5", "quiet.keras"):
        reloaded = keras.models.load_model(tmp_path / name, compile=False)
        np.testing.assert_allclose(reloaded.predict(x, verbose=0), [[-0.5]])


def test_other_warnings_during_the_save_still_show(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="absl")
    model = _model()

    def save(path, *args, **kwargs):
        logging.getLogger("absl").warning(LEGACY + " via `model.save()`.")
        logging.getLogger("absl").warning("disk almost full")
        open(path, "wb").close()

    monkeypatch.setattr(model, "save", save)
    save_model(model, tmp_path / "m.h5")
    assert _absl_messages(caplog) == ["disk almost full"]


def test_compiled_asnet_keras_file_reloads_with_its_losses(tmp_path):
    """A compiled ASNet (six outputs, custom layers) saved as `.keras` reloads with one loss
    per output; `tests/model/test_losses.py` checks the same wiring on a two-output model,
    fast enough for the losses' mutation runs (docs/testing.md §3)."""
    from asnet_keras import build_asnet, compile_asnet
    from asnet_keras.model.losses import SaliencyLoss, fixation_kl

    model = compile_asnet(
        build_asnet((32, 32, 3), backbone_weights=None), loss_variant="no_recall",
        jit_compile=False,
    )
    path = tmp_path / "compiled.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    restored_losses = restored.loss
    assert restored_losses["fixation"] is fixation_kl
    assert isinstance(restored_losses["saliency_conv1"], SaliencyLoss)
    assert restored_losses["saliency_conv1"].variant == "no_recall"
