"""Which devices a run uses, said at its start, under any Keras backend.

Training, evaluation and prediction call `report_devices` first thing: one line names the
Keras backend, its version and the devices it sees, e.g.

    asnet predict: Keras backend tensorflow 2.21.0 on CPU (CPU:0)

and a warning follows on stderr when `nvidia-smi` lists an NVIDIA GPU that the backend
cannot see (typically the CPU build of TensorFlow on a GPU server: the run would go on,
tens of times slower, on the CPU), naming the install that fixes it
(docs/backends.md §1, §2).

Nothing here imports a framework at module import; each function imports only the
backend Keras runs on. `tensorflow_for_data` gives TensorFlow to the parts that use it
as a data library whatever the backend (the `tf.data` pipeline, the image resize) and
keeps it off the GPUs then, so that it does not take the memory JAX or torch needs.
"""

import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys

from asnet_keras.extras import MissingExtra, requires

_GPU_LINE = re.compile(r"^GPU (?P<index>\d+): (?P<name>.*?)(?: \(UUID: [^)]*\))?$")

# The extra of pyproject.toml that installs each Keras backend (docs/packaging.md §3).
BACKEND_EXTRA = {"tensorflow": "cpu", "jax": "jax", "torch": "torch"}

# What installs a GPU-capable build of each backend (docs/backends.md §1, §3).
_GPU_FIX = {
    "tensorflow": "install TensorFlow's GPU build: `make setup DEVICE=gpu`, or "
    "`pip uninstall -y tensorflow-cpu && pip install 'tensorflow[and-cuda]=={version}'`",
    "jax": "install a CUDA build of JAX: `pip install -U 'jax[cuda12]'`",
    "torch": "install a CUDA build of PyTorch (see pytorch.org; `pip install torch` on "
    "Linux x86-64 takes one)",
}


def keras_backend():
    """The Keras backend's name ('tensorflow', 'jax', 'torch', …); imports keras.

    Raises:
        MissingExtra: the backend Keras is set to (KERAS_BACKEND) is not installed; the
            message names its extra ('cpu', 'jax' or 'torch').
    """
    try:
        import keras  # imports the backend it is set to (KERAS_BACKEND, ~/.keras/keras.json)
    except ModuleNotFoundError as error:
        backend = (error.name or "").split(".")[0]
        if backend in BACKEND_EXTRA:
            raise MissingExtra(BACKEND_EXTRA[backend], backend) from error
        raise
    return keras.backend.backend()


def _nvidia_smi(arguments, timeout):
    """`nvidia-smi ARGUMENTS`' output lines; [] when it is absent or fails."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return []
    try:
        result = subprocess.run(
            [executable, *arguments], capture_output=True, text=True, timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return result.stdout.splitlines() if result.returncode == 0 else []


def nvidia_gpus(timeout=10):
    """Names of the GPUs `nvidia-smi -L` lists; [] when it is absent, fails or lists none.

    Example: ['NVIDIA H200'] on a one-GPU host. MIG slices are not counted separately.
    """
    names = []
    for line in _nvidia_smi(["-L"], timeout):
        match = _GPU_LINE.match(line.strip())
        if match:
            names.append(match["name"])
    return names


def nvidia_gpu_details(timeout=20):
    """Name, driver version and memory of each GPU `nvidia-smi` lists; [] without one.

    Example: [{"name": "NVIDIA H100 80GB HBM3", "driver_version": "580.159.04",
    "memory_total": "81559 MiB"}].
    """
    fields = ("name", "driver_version", "memory_total")
    query = ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    details = []
    for line in _nvidia_smi(query, timeout):
        values = [value.strip() for value in line.split(",")]
        if len(values) == len(fields):
            details.append(dict(zip(fields, values)))
    return details


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (e.g. 'AMD EPYC 9B14'), else what
    `platform` says; imports no framework."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            return next(line.split(":", 1)[1].strip() for line in file if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def backend_devices(backend=None):
    """The devices the Keras backend can run on, accelerators last.

    Returns:
        (framework version, [{"kind": "CPU"|"GPU"|"TPU"|…, "name": str}, …]).
    """
    backend = backend or keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        devices = []
        # Physical devices only: listing them leaves the logical configuration open
        # (the trainer's --cpu-devices splits the CPU afterwards).
        for device in tf.config.list_physical_devices():
            name = device.name.replace("/physical_device:", "")  # e.g. "GPU:0"
            if device.device_type == "GPU":
                try:
                    details = tf.config.experimental.get_device_details(device)
                    name += ", " + details.get("device_name", "GPU")
                except (RuntimeError, ValueError):
                    pass
            devices.append({"kind": device.device_type, "name": name})
        return tf.__version__, _cpu_first(devices)
    if backend == "jax":
        with requires("jax"):
            import jax

        devices = []
        for platform_name in ("cpu", None):
            try:
                found = jax.devices(platform_name) if platform_name else jax.devices()
            except RuntimeError:
                continue
            for device in found:
                name = f"{device.platform}:{device.id}"  # e.g. "cpu:0", "gpu:0"
                if device.platform == "cpu":
                    entry = {"kind": "CPU", "name": name}
                else:
                    gpu = device.platform in ("gpu", "cuda", "rocm")
                    kind = "GPU" if gpu else device.platform.upper()
                    entry = {"kind": kind, "name": f"{name}, {device.device_kind}"}
                if entry not in devices:
                    devices.append(entry)
        return jax.__version__, _cpu_first(devices)
    if backend == "torch":
        with requires("torch"):
            import torch

        devices = [{"kind": "CPU", "name": "cpu"}]
        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                devices.append({"kind": "GPU",
                                "name": f"cuda:{index}, {torch.cuda.get_device_name(index)}"})
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            devices.append({"kind": "GPU", "name": "mps, Apple GPU"})
        return torch.__version__, devices
    return "unknown", []


def _cpu_first(devices):
    return [d for d in devices if d["kind"] == "CPU"] + [d for d in devices if d["kind"] != "CPU"]


def describe(backend=None, gpus=None):
    """Backend, devices and NVIDIA GPUs of this process, and a warning if they disagree.

    Args:
        backend: a Keras backend name (default: the one Keras runs on).
        gpus: the `nvidia_gpus()` list (default: ask nvidia-smi).
    Returns:
        dict with "backend", "version", "devices" (see `backend_devices`), "runs_on"
        (the devices a single-device run uses: the accelerators if any, else the CPU),
        "nvidia_gpus" and "warning" (None, or a sentence naming the fix).
    """
    backend = backend or keras_backend()
    version, devices = backend_devices(backend)
    gpus = nvidia_gpus() if gpus is None else list(gpus)
    accelerators = [d for d in devices if d["kind"] != "CPU"]
    runs_on = accelerators or [d for d in devices if d["kind"] == "CPU"][:1]
    warning = None
    if gpus and not any(d["kind"] == "GPU" for d in devices):
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
        listed = ", ".join(gpus)
        warning = (
            f"nvidia-smi lists {len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({listed}) but "
            f"the Keras backend {backend} {version} sees none, so this run uses the CPU "
            "(many times slower). "
        )
        if hidden is not None and hidden.strip() in ("", "-1"):
            warning += f"CUDA_VISIBLE_DEVICES={hidden!r} hides them; unset it to use them."
        else:
            if backend == "tensorflow" and _installed("tensorflow-cpu"):
                warning += "The CPU-only build tensorflow-cpu is installed. "
            fix = _GPU_FIX.get(backend, "install a GPU build of the backend")
            warning += "To use the GPU, " + fix.format(version=version) + "."
    return {"backend": backend, "version": version, "devices": devices, "runs_on": runs_on,
            "nvidia_gpus": gpus, "warning": warning}


def _installed(distribution):
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def format_devices(description):
    """'Keras backend jax 0.10.2 on CPU (cpu:0)': `describe`'s dict in one line."""
    names = ", ".join(f"{d['kind']} ({d['name']})" for d in description["runs_on"]) or "no device"
    line = f"Keras backend {description['backend']} {description['version']} on {names}"
    others = [d for d in description["devices"] if d not in description["runs_on"]]
    if others:
        line += "; also sees " + ", ".join(f"{d['kind']} ({d['name']})" for d in others)
    return line


def report_devices(program, out=None, err=None):
    """Print which devices `program` runs on (stdout) and any GPU warning (stderr).

    Returns:
        the `describe()` dict.
    """
    description = describe()
    print(f"{program}: {format_devices(description)}", file=out or sys.stdout, flush=True)
    if description["warning"]:
        print(f"warning: {description['warning']}", file=err or sys.stderr, flush=True)
    return description


def machine_info():
    """What a benchmark ran on: CPU, cores, load, Keras and backend versions, devices.

    Imports only Keras and the backend it runs on (never TensorFlow under JAX or torch).
    """
    import keras

    description = describe()
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "keras": keras.__version__,
        "backend": description["backend"],
        "backend_version": description["version"],
        "devices": [f"{d['kind']} ({d['name']})" for d in description["runs_on"]],
        "nvidia_gpus": description["nvidia_gpus"],
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def tensorflow_for_data():
    """TensorFlow, for use as a data library (`tf.data`, `tf.image.resize`).

    Under another Keras backend the GPUs are hidden from TensorFlow before it first
    touches them, so it does not reserve the memory JAX or torch will use; under the
    TensorFlow backend nothing changes.

    Raises:
        MissingExtra: TensorFlow is not installed (the message names the 'cpu' extra).
    """
    with requires("cpu"):  # the input pipeline and the image resize need it on any backend
        import tensorflow as tf
    if keras_backend() != "tensorflow":
        try:
            tf.config.set_visible_devices([], "GPU")
        except (RuntimeError, ValueError):
            pass  # TensorFlow already started on its devices: too late to change
    return tf
