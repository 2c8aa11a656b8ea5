"""What the inference tests share: one small model file per test module."""

import pytest


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    import keras

    from asnet_keras.model import build_asnet

    keras.utils.set_random_seed(3)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_asnet((32, 32, 3), backbone_weights=None).save(path)
    return str(path)
