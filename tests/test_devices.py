"""`asnet_keras.devices`: the device line every run prints, and the warning when an NVIDIA
GPU exists that the Keras backend cannot see (docs/backends.md §2). The GPU is faked by an
`nvidia-smi` script on PATH; the backend (TensorFlow's CPU build here) really sees none."""

import os
import stat

import pytest

from asnet_keras import devices


@pytest.fixture()
def fake_nvidia_smi(tmp_path, monkeypatch):
    """Put an `nvidia-smi` that prints `output` and exits with `status` first on PATH."""

    def install(output, status=0):
        folder = tmp_path / f"bin{status}"
        folder.mkdir(exist_ok=True)
        script = folder / "nvidia-smi"
        script.write_text(f"#!/bin/sh\nprintf '%s' '{output}'\nexit {status}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")

    return install


TWO_GPUS = (
    "GPU 0: NVIDIA H200 (UUID: GPU-0a1b)\n"
    "  MIG 1g.18gb     Device  0: (UUID: MIG-77)\n"
    "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-2c3d)\n"
)


def test_nvidia_gpus_reads_nvidia_smi_list(fake_nvidia_smi):
    fake_nvidia_smi(TWO_GPUS)
    assert devices.nvidia_gpus() == ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"]


def test_nvidia_gpus_is_empty_when_nvidia_smi_fails_or_is_missing(fake_nvidia_smi, monkeypatch,
                                                                   tmp_path):
    fake_nvidia_smi("NVIDIA-SMI has failed because it could not communicate\n", status=9)
    assert devices.nvidia_gpus() == []
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi at all
    assert devices.nvidia_gpus() == []


def test_nvidia_gpu_details_reads_name_driver_and_memory(fake_nvidia_smi):
    fake_nvidia_smi("NVIDIA H100 80GB HBM3, 580.159.04, 81559 MiB\n"
                    "NVIDIA H200, 580.159.03, 143771 MiB\n")
    assert devices.nvidia_gpu_details() == [
        {"name": "NVIDIA H100 80GB HBM3", "driver_version": "580.159.04",
         "memory_total": "81559 MiB"},
        {"name": "NVIDIA H200", "driver_version": "580.159.03", "memory_total": "143771 MiB"},
    ]
    fake_nvidia_smi("Failed to initialize NVML\n", status=9)
    assert devices.nvidia_gpu_details() == []


def _backend_sees_a_gpu():
    return any(d["kind"] == "GPU" for d in devices.backend_devices()[1])


def test_warning_when_a_gpu_exists_that_the_backend_cannot_see(fake_nvidia_smi, monkeypatch,
                                                               capsys):
    if _backend_sees_a_gpu():
        pytest.skip("this machine's backend sees a real GPU")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    fake_nvidia_smi(TWO_GPUS)
    backend = devices.keras_backend()
    description = devices.report_devices("asnet_keras.probe")
    out, err = capsys.readouterr()
    assert out.startswith(f"asnet_keras.probe: Keras backend {backend} ")
    assert " on CPU (" in out
    assert err.startswith("warning: nvidia-smi lists 2 GPUs (NVIDIA H200, NVIDIA A100-SXM4-80GB)")
    assert f"the Keras backend {backend} {description['version']} sees none" in err
    fix = {"tensorflow": "make setup DEVICE=gpu", "jax": "jax[cuda12]", "torch": "CUDA build"}
    assert fix[backend] in err
    assert description["nvidia_gpus"] == ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"]
    assert [d["kind"] for d in description["runs_on"]] == ["CPU"]


def test_hidden_gpus_are_named_as_the_reason(monkeypatch):
    if _backend_sees_a_gpu():
        pytest.skip("this machine's backend sees a real GPU")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    warning = devices.describe(gpus=["NVIDIA H200"])["warning"]
    assert "CUDA_VISIBLE_DEVICES='' hides them" in warning


def test_no_warning_without_nvidia_gpu(capsys):
    description = devices.describe(gpus=[])
    assert description["warning"] is None
    assert description["backend"] == devices.keras_backend()
    assert description["devices"] and description["devices"][0]["kind"] == "CPU"
    line = devices.format_devices(description)
    assert line.startswith(f"Keras backend {description['backend']} {description['version']} on ")


def test_machine_info_names_backend_and_devices():
    info = devices.machine_info()
    assert info["backend"] == devices.keras_backend()
    assert info["cores"] >= 1 and info["devices"]
    assert isinstance(info["load_average_1min"], float)


def test_trainer_refuses_another_backend_and_names_fit(monkeypatch, tmp_path):
    """The resumable trainer is tf.distribute code (docs/backends.md §3)."""
    from asnet_keras.training import loop
    from asnet_keras.training.config import TrainConfig

    monkeypatch.setattr(devices, "keras_backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs KERAS_BACKEND=tensorflow") as error:
        loop.train(TrainConfig(data=str(tmp_path / "data"), out=str(tmp_path / "run")))
    assert "compile_asnet" in str(error.value) and "model.fit" in str(error.value)
    assert not (tmp_path / "run").exists()
