"""What the inference tests share: one small model file per test module."""

import pytest


def _model_file(tmp_path_factory, size, seed):
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(seed)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_asnet((size, size, 3), backbone_weights=None).save(path)
    return str(path)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A 32-px ASNet with random weights."""
    return _model_file(tmp_path_factory, 32, 3)


@pytest.fixture(scope="module")
def model_path_64(tmp_path_factory):
    """A 64-px ASNet with random weights (the video tests)."""
    return _model_file(tmp_path_factory, 64, 9)
