"""Optional dependencies: a feature whose extra is missing says which extra installs it.

The core install (`pip install asnet-keras[cpu]`) trains, evaluates and predicts on
TensorFlow; everything else comes from an extra of `pyproject.toml` named for what it
enables (docs/packaging.md §3). Each place that imports an optional package does it inside
`requires(extra)`:

    with requires("serve"):
        import uvicorn

and when the package is missing the import raises `MissingExtra`, an `ImportError` whose
message names the feature, the missing module and the install line, e.g.

    the HTTP service needs the module 'uvicorn', which is not installed: install the
    'serve' extra, pip install 'asnet-keras[serve]' (in a checkout, make setup installs
    every extra)

Bottom layer: standard library only, so `data_prep` and every light module may use it.
"""

import contextlib

DISTRIBUTION = "asnet-keras"

# What each extra of pyproject.toml enables, as the messages name it (a test checks that
# every extra is here and that each entry is an extra).
FEATURES = {
    "cpu": "running ASNet on TensorFlow (or the 'gpu' extra: its GPU build)",
    "gpu": "running ASNet on TensorFlow's GPU build",
    "serve": "the HTTP service",
    "deploy": "the deployment formats (ONNX, OpenVINO, LiteRT)",
    "jax": "the JAX backend",
    "data": "reading .rar archives in data_prep",
    "notebooks": "executing the notebooks",
    "torch": "the PyTorch backend",
    "dev": "the test suite",
}


def install_line(extra):
    """"pip install 'asnet-keras[serve]'": the command that installs `extra`."""
    if extra not in FEATURES:
        raise ValueError(f"unknown extra {extra!r}; the extras are {', '.join(FEATURES)}")
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_message(extra, module):
    """The sentence that says `module` is missing and that the extra `extra` installs it."""
    command = install_line(extra)
    return (f"{FEATURES[extra]} needs the module {module!r}, which is not installed: "
            f"install the {extra!r} extra, {command} (in a checkout, make setup installs "
            "every extra)")


class MissingExtra(ImportError):
    """An optional module is not installed; `extra` names the extra that installs it."""

    def __init__(self, extra, module):
        super().__init__(missing_message(extra, module), name=module)
        self.extra = extra


@contextlib.contextmanager
def requires(extra):
    """Around the imports of an optional package: a module that cannot be found raises
    `MissingExtra(extra, module)` instead of a bare ModuleNotFoundError.

    Only third-party imports belong inside; a module of this project that is missing is
    a broken install, not a missing extra, and is raised as it is.
    """
    install_line(extra)  # an unknown extra is a programming error: say so at once
    try:
        yield
    except ModuleNotFoundError as error:
        module = error.name or str(error)
        if module.split(".")[0] in ("asnet_keras", "data_prep"):
            raise
        raise MissingExtra(extra, module) from error
