"""`TrainConfig` (asnet_keras/training/config.py): every field is checked when the config is
made, with a message that names the field, its command-line flag and what to pass; the
model flags through `ASNetOptions`, which it holds as `model`. Built from old-style keyword
arguments or from an old run's config.json, it writes the same config.json as before, so
old run folders resume."""

import dataclasses
import json
import math
import pathlib

import numpy as np
import pytest

from asnet_keras.commands import train as train_command
from asnet_keras.model.options import ASNetOptions
from asnet_keras.parameters import ParameterError
from asnet_keras.training import run_folder
from asnet_keras.training.config import TrainConfig

# (field, bad value, flag named in the message, what the advice says)
BAD_FIELDS = [
    ("data", "", "--data", "pass the path of a folder"),
    ("data", 3, "--data", "pass the path of a folder"),
    ("out", None, "--out", "pass the path of a folder"),
    ("datasets", "", "--datasets", "pass folder names under --data, e.g. salicon,thus10k"),
    ("datasets", (), "--datasets", "pass folder names under --data"),
    ("datasets", ("salicon", "salicon"), "--datasets", "each dataset once"),
    ("datasets", ("../salicon",), "--datasets", "pass folder names under --data"),
    ("datasets", "salicon,..", "--datasets", "pass folder names under --data"),
    ("datasets", [1, 2], "--datasets", "pass folder names under --data"),
    ("input_size", 40, "--input-size", "pass a multiple of 16, at least 32"),
    ("input_size", "224", "--input-size", "pass an integer number of pixels"),
    ("batch_size", 0, "--batch-size", "pass an integer from 1 to 65536"),
    ("batch_size", 2.5, "--batch-size", "pass an integer from 1 to 65536"),
    ("batch_size", True, "--batch-size", "pass an integer from 1 to 65536"),
    ("epochs", 0, "--epochs", "pass an integer from 1 to 1000"),
    ("epochs", 1001, "--epochs", "pass an integer from 1 to 1000"),
    ("steps_per_epoch", -1, "--steps-per-epoch", "pass an integer from 0 to 10000000"),
    ("learning_rate", 0.0, "--learning-rate", "pass a finite number above 0 and at most 1"),
    ("learning_rate", math.nan, "--learning-rate", "pass a finite number above 0"),
    ("learning_rate", math.inf, "--learning-rate", "pass a finite number above 0"),
    ("learning_rate", -1e-4, "--learning-rate", "pass a finite number above 0"),
    ("learning_rate", 2, "--learning-rate", "pass a finite number above 0 and at most 1"),
    ("learning_rate", "1e-4", "--learning-rate", "pass a finite number above 0"),
    ("lr_decay_factor", 0, "--lr-decay-factor", "pass a finite number above 0 and at most 1"),
    ("lr_decay_factor", 10, "--lr-decay-factor", "pass a finite number above 0 and at most 1"),
    ("lr_decay_epochs", 0, "--lr-decay-epochs", "pass an integer from 1 to 1000"),
    ("patience", 0, "--patience", "pass an integer from 1 to 1000"),
    ("backbone_weights", 3, "--backbone-weights", "pass imagenet, none, or the path"),
    ("variant", "wo_everything", "--variant", "pass one of full, wo_fixation, wo_convlstm"),
    ("fixation_28", "yes", "--fixation-28", "pass True or False"),
    ("recurrence", "fast", "--recurrence", "pass one of static, stock"),
    ("mixed_precision", "fp8", "--mixed-precision", "pass one of none, bfloat16, float16"),
    ("strategy", "tpu", "--strategy", "pass one of none, mirrored, multiworker"),
    ("cpu_devices", -1, "--cpu-devices", "pass an integer from 0 to 1024"),
    ("seed", -1, "--seed", "pass an integer from 0 to 4294967295"),
    ("seed", 2**32, "--seed", "pass an integer from 0 to 4294967295"),
    ("augment", "yes", "--augment", "pass True or False"),
    ("rotation_degrees", -5, "--rotation-degrees", "pass a finite number from 0 to 180"),
    ("rotation_degrees", 181, "--rotation-degrees", "pass a finite number from 0 to 180"),
    ("rotation_degrees", math.nan, "--rotation-degrees", "pass a finite number from 0 to 180"),
    ("backup_every", 0, "--backup-every", "pass an integer from 1 to 10000000"),
    ("verify_data", "some", "--verify-data", "pass one of full, quick, off"),
    ("on_bad_sample", "ignore", "--on-bad-sample", "pass one of stop, skip"),
    ("jit_compile", 1, "--jit-compile", "pass True or False"),
    ("verbose", 3, "--verbose", "pass an integer from 0 to 2"),
]
assert len(BAD_FIELDS) == 45


def test_the_table_covers_every_field():
    assert {field for field, *_ in BAD_FIELDS} == {f.name for f in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize("field, value, flag, advice", BAD_FIELDS)
def test_each_bad_value_is_refused_naming_the_field_and_its_flag(field, value, flag, advice):
    with pytest.raises(ParameterError) as caught:
        TrainConfig(**{field: value})
    assert caught.value.name == field
    assert str(caught.value).startswith(f"{field}={value!r} ({flag}): ")
    assert advice in str(caught.value)


def test_a_model_conflict_names_both_flags():
    with pytest.raises(ParameterError) as caught:
        TrainConfig(variant="wo_fixation", fixation_28=True)
    assert str(caught.value).startswith(
        "fixation_28=True (--fixation-28 with --variant wo_fixation): the ASNet-28×28 output "
        "needs the fixation head")


def test_the_command_line_refuses_a_bad_value_as_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_command.parse_args(["--learning-rate", "nan"])
    assert exit_info.value.code == 2
    assert ("error: learning_rate=nan (--learning-rate): pass a finite number above 0 and at "
            "most 1.") in capsys.readouterr().err


def test_the_config_holds_the_options_of_the_model_it_trains():
    config = TrainConfig(input_size=64, variant="wo_convlstm", fixation_28=True,
                         recurrence="stock")
    assert config.model == ASNetOptions(input_size=64, use_convlstm=False, fixation_28=True,
                                        recurrence="stock")
    assert TrainConfig(variant="wo_mae").loss_variant == "no_mae"
    assert TrainConfig(recurrence="").model.recurrence == "static"  # "" = the default
    assert dataclasses.replace(config, input_size=32).model.input_size == 32
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.input_size = 32  # the options could not follow
    # numbers are stored as int / float, paths as str: config.json can hold them
    numpy_ints = TrainConfig(input_size=np.int64(64), seed=np.int32(1), rotation_degrees=5,
                             out=pathlib.Path("runs") / "x")
    assert json.loads(json.dumps(numpy_ints.to_json()))["input_size"] == 64
    assert (numpy_ints.seed, numpy_ints.rotation_degrees) == (1, 5.0)
    assert numpy_ints.out == str(pathlib.Path("runs") / "x")
    assert type(numpy_ints.input_size) is int and type(numpy_ints.rotation_degrees) is float


# config.json of this config as the main branch wrote it before TrainConfig held an
# ASNetOptions (run_config_json(config, {}) there), plus what the loop adds.
OLD_KWARGS = dict(data="data/synthetic", out="runs/demo", datasets="synthetic-fix,synthetic-sod",
                  input_size=64, epochs=2, variant="wo_convlstm", fixation_28=True,
                  learning_rate=3e-4, backbone_weights="none")
OLD_CONFIG_JSON = {
    "augment": True, "backbone_weights": "none", "backup_every": 100, "batch_size": 10,
    "config": "paper", "cpu_devices": 0, "data": "data/synthetic",
    "datasets": ["synthetic-fix", "synthetic-sod"], "epochs": 2, "fixation_28": True,
    "fixation_head": True, "input_size": 64, "jit_compile": False, "learning_rate": 0.0003,
    "loss_variant": "full", "lr_decay_epochs": 2, "lr_decay_factor": 0.1,
    "mixed_precision": "none", "on_bad_sample": "stop", "out": "runs/demo", "patience": 3,
    "recurrence": "static", "rotation_degrees": 10.0, "seed": 0, "steps_per_epoch": 0,
    "strategy": "none", "use_convlstm": False, "variant": "wo_convlstm", "verbose": 1,
    "verify_data": "quick",
}
LOOP_EXTRAS = {"steps_per_epoch_resolved": 3, "training_images": 16, "validation_images": 4,
               "validation": {"synthetic-fix": "val", "synthetic-sod": "val"}, "replicas": 1}


def test_old_keyword_arguments_write_the_same_config_json():
    content = TrainConfig(**OLD_KWARGS).to_json()
    assert json.dumps(content, sort_keys=True) == json.dumps(OLD_CONFIG_JSON, sort_keys=True)
    flags = ["--data", "data/synthetic", "--out", "runs/demo", "--datasets",
             "synthetic-fix,synthetic-sod", "--input-size", "64", "--epochs", "2", "--variant",
             "wo_convlstm", "--fixation-28", "--learning-rate", "3e-4",
             "--backbone-weights", "none"]
    assert train_command.parse_args(flags).to_json() == OLD_CONFIG_JSON


def test_an_old_run_folder_reads_back_and_resumes(tmp_path):
    old = {**OLD_CONFIG_JSON, **LOOP_EXTRAS}
    (tmp_path / "config.json").write_text(json.dumps(old, indent=2, sort_keys=True))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in old.items() if k in fields})
    rewritten = {**config.to_json(), **LOOP_EXTRAS}
    assert rewritten == old
    assert config.model == ASNetOptions.from_json(old)
    run_folder.check_resumable(str(tmp_path), rewritten)  # the same configuration: no error
    resumed = TrainConfig(**{**{k: v for k, v in old.items() if k in fields}, "epochs": 4})
    run_folder.check_resumable(str(tmp_path), {**resumed.to_json(), **LOOP_EXTRAS})
    other = dataclasses.replace(config, input_size=32)
    with pytest.raises(ValueError, match="another configuration .*input_size: 64 → 32"):
        run_folder.check_resumable(str(tmp_path), {**other.to_json(), **LOOP_EXTRAS})
