"""A feature whose extra is missing says which extra to install, when it is used; the core
imports without any extra (docs/packaging.md §3).

Each case runs in a fresh Python process in which the extra's modules cannot be imported
(a `sys.meta_path` finder answers "No module named ..." for them, as if never installed),
from this checkout."""

import os
import subprocess
import sys
import textwrap

import pytest

from asnet_keras import extras

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The import names of every optional dependency (all extras but the TensorFlow builds).
OPTIONAL_MODULES = (
    "jax", "jaxlib",                                          # jax
    "fastapi", "starlette", "uvicorn", "python_multipart",   # serve
    "multipart",
    "onnx", "tf2onnx", "onnxruntime", "openvino", "ai_edge_litert", "nncf",  # deploy
    "nbclient", "nbformat", "ipykernel",                      # notebooks
    "libarchive", "rarfile",                                  # data
    "torch",                                                  # torch
    "selenium", "pytest",                                     # dev
)


def run_without(modules, code, env=None):
    """Run `code` with `modules` unimportable; the CompletedProcess (text output)."""
    prelude = textwrap.dedent(f"""
        import sys

        class _NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {tuple(modules)!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, _NotInstalled())
    """)
    environment = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_the_core_imports_and_its_commands_start_without_any_extra():
    result = run_without(OPTIONAL_MODULES, """
        import asnet_keras, data_prep
        from asnet_keras import devices
        from asnet_keras.model.builder import build_asnet
        from asnet_keras.inference.loading import load_asnet
        from asnet_keras.training.loop import train
        from asnet_keras.evaluation.api import evaluate_model
        import importlib
        import asnet_keras.export
        from asnet_keras.commands import COMMANDS
        for command in COMMANDS.values():  # every command's module and its --help
            importlib.import_module(command.module).build_parser().format_help()
        print("backend", devices.describe(gpus=[])["backend"])
        print("version", asnet_keras.__version__ == data_prep.__version__)
        print("absent", sorted(n for n in %r if n in sys.modules))
    """ % (OPTIONAL_MODULES,))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-3:] == ["backend tensorflow", "version True", "absent []"]


# (extra, modules made unimportable, code that uses the feature, the module the message names)
CASES = [
    ("serve", ["fastapi"], "import asnet_keras.serving.app", "fastapi"),
    ("serve", ["python_multipart"], "import asnet_keras.serving.app", "python_multipart"),
    ("serve", ["starlette"], "from asnet_keras.serving import create_app; create_app(None)",
     "starlette"),
    ("jax", ["jax"], "from asnet_keras import devices; devices.backend_devices('jax')", "jax"),
    ("jax", ["jax"], "from asnet_keras import devices; devices.keras_backend()", "jax"),
    ("torch", ["torch"], "from asnet_keras import devices; devices.backend_devices('torch')",
     "torch"),
    ("cpu", ["tensorflow"], "from asnet_keras import devices; devices.tensorflow_for_data()",
     "tensorflow"),
    ("notebooks", ["nbclient"],
     "from asnet_keras.commands import notebooks; "
     "notebooks.execute_notebook('n.ipynb', 'o.ipynb', {})",
     "nbclient"),
    ("notebooks", ["ipykernel"],
     "from asnet_keras.commands import notebooks; "
     "notebooks.execute_notebook('n.ipynb', 'o.ipynb', {})",
     "ipykernel"),
]
assert len(CASES) == 9


@pytest.mark.parametrize("extra, blocked, code, module", CASES,
                         ids=[f"{c[0]}-{c[1][0]}-{i}" for i, c in enumerate(CASES)])
def test_a_missing_extra_is_named_when_its_feature_is_used(extra, blocked, code, module):
    env = {"KERAS_BACKEND": "jax"} if code.endswith("keras_backend()") else None
    result = run_without(blocked, f"""
        from asnet_keras.extras import MissingExtra
        try:
            {code}
        except MissingExtra as error:
            print("extra", error.extra, error.name, isinstance(error, ImportError))
            print(error)
    """, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    first, message = result.stdout.splitlines()[-2:]
    assert first == f"extra {extra} {module} True"
    assert f"install the '{extra}' extra, pip install 'asnet-keras[{extra}]'" in message
    assert f"needs the module '{module}'" in message and extras.FEATURES[extra] in message


# The deployment formats keep their own exception types (the export command exits 2 on
# FormatUnavailable, predict names the file on ArtifactError) with the extra's sentence.
DEPLOY_CASES = [
    (["tf2onnx"], "from asnet_keras.export.formats import require; require('onnx')",
     "FormatUnavailable", "tf2onnx"),
    (["openvino"], "from asnet_keras.export.formats import require; require('openvino')",
     "FormatUnavailable", "openvino"),
    (["onnxruntime"], "from asnet_keras.export.runtimes import OnnxModel; OnnxModel('m.onnx')",
     "ArtifactError", "onnxruntime"),
    (["openvino"], "from asnet_keras.export.runtimes import OpenVINOModel; OpenVINOModel('m.xml')",
     "ArtifactError", "openvino"),
    (["nncf"], "from asnet_keras.export.int8 import require_nncf; require_nncf()",
     "MissingExtra", "nncf"),
]
assert len(DEPLOY_CASES) == 5


@pytest.mark.parametrize("blocked, code, error, module", DEPLOY_CASES,
                         ids=[f"{c[2]}-{c[3]}" for c in DEPLOY_CASES])
def test_the_deployment_formats_name_the_deploy_extra(blocked, code, error, module):
    result = run_without(blocked, f"""
        try:
            {code}
        except Exception as error:
            print(type(error).__name__)
            print(error)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    kind, message = result.stdout.splitlines()[-2:]
    assert kind == error
    assert (f"needs the module '{module}', which is not installed: install the 'deploy' "
            "extra, pip install 'asnet-keras[deploy]'") in message


def test_the_serve_and_notebooks_commands_exit_2_naming_their_extra(tmp_path):
    result = run_without(["uvicorn"], """
        from asnet_keras.commands import serve
        sys.exit(serve.main(["--weights", "no-such-run"]))
    """)
    assert result.returncode == 2
    assert "error: the HTTP service needs the module 'uvicorn'" in result.stderr
    assert "pip install 'asnet-keras[serve]'" in result.stderr
    result = run_without(["nbclient"], f"""
        from asnet_keras.commands import notebooks
        sys.exit(notebooks.main(["--out", {str(tmp_path)!r}, "--notebooks", "table4_sod"]))
    """)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "pip install 'asnet-keras[notebooks]'" in result.stderr


def test_data_prep_names_the_data_extra_when_no_rar_reader_is_installed(tmp_path):
    archive = tmp_path / "HKU-IS.rar"
    archive.write_bytes(b"Rar!\x1a\x07\x00")
    result = run_without(["libarchive", "rarfile"], f"""
        from data_prep.archives import ArchiveError, safe_extract
        try:
            safe_extract({str(archive)!r}, {str(tmp_path / "out")!r})
        except ArchiveError as error:
            print(error)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    message = result.stdout.strip().splitlines()[-1]
    assert message.startswith(f"{archive}: no RAR reader is available here: reading .rar")
    assert "install the 'data' extra, pip install 'asnet-keras[data]'" in message
    assert "'libarchive'" in message and "pip install rarfile" in message


def test_requires_names_only_third_party_modules():
    with pytest.raises(extras.MissingExtra) as caught:
        with extras.requires("serve"):
            raise ModuleNotFoundError("No module named 'fastapi'", name="fastapi")
    assert caught.value.extra == "serve" and caught.value.name == "fastapi"
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    # A module of this project missing is a broken install, raised as it is.
    with pytest.raises(ModuleNotFoundError) as caught:
        with extras.requires("serve"):
            raise ModuleNotFoundError("No module named 'asnet_keras.nope'", name="asnet_keras.nope")
    assert not isinstance(caught.value, extras.MissingExtra)
    with pytest.raises(ValueError, match="unknown extra 'server'; the extras are cpu, gpu"):
        with extras.requires("server"):
            pass
    assert extras.install_line("deploy") == "pip install 'asnet-keras[deploy]'"
