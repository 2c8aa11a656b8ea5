"""The declared public API (README "Project layout"); the commands: tests/cli/test_commands.py."""

import importlib
import os
import subprocess
import sys

import pytest


def test_importing_the_package_changes_no_environment_variable(repo_root):
    code = ("import os; before = dict(os.environ); import asnet_keras; "
            "import asnet_keras.model.options, asnet_keras.training.config; "
            "assert dict(os.environ) == before, set(os.environ) ^ set(before)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    subprocess.run([sys.executable, "-c", code], cwd=repo_root, env=env, check=True)


def test_every_public_name_resolves_lazily():
    import asnet_keras

    for name in asnet_keras.__all__:
        assert getattr(asnet_keras, name) is not None, name
    assert asnet_keras.train is importlib.import_module("asnet_keras.training.loop").train
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        asnet_keras.nope  # noqa: B018


def test_one_version_from_pyproject(repo_root, monkeypatch):
    import importlib.metadata
    import re

    import asnet_keras
    import data_prep

    with open(os.path.join(repo_root, "pyproject.toml"), encoding="utf-8") as file:
        version = re.search(r'^version = "([^"]+)"$', file.read(), re.MULTILINE).group(1)
    assert asnet_keras.__version__ == data_prep.__version__ == version
    # Not installed (a checkout on PYTHONPATH): read from the checkout's pyproject.toml.
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert asnet_keras._version() == version
