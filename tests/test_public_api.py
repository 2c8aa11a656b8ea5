"""The declared public API and the command-line modules (README "Project layout")."""

import importlib
import os
import subprocess
import sys

import pytest

CLI_MODULES = ("train", "evaluate", "predict", "export", "convert_released", "demo",
               "ablation", "notebooks", "serve", "verify_data")
assert len(CLI_MODULES) == 10


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
    assert asnet_keras.train_asnet is importlib.import_module("asnet_keras.training.loop").train
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        asnet_keras.nope  # noqa: B018


@pytest.mark.parametrize("name", CLI_MODULES)
def test_every_command_line_module_has_the_same_shape(name):
    module = importlib.import_module(f"asnet_keras.{name}")
    parser = module.build_parser() if hasattr(module, "build_parser") else None
    assert callable(module.main), name
    if parser is not None:
        assert parser.prog == f"python -m asnet_keras.{name}"
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(["--no-such-flag"])
        assert exit_info.value.code == 2  # usage errors exit with 2
