"""Shared test set-up: quiet TensorFlow, a deterministic seed, small models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session(request):
    """Reset Keras' global state and seeds before each test that uses Keras."""
    import sys

    if "keras" in sys.modules:
        import keras

        keras.backend.clear_session()
        keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
