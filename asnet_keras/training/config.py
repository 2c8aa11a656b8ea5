"""What a training run depends on: `TrainConfig`, checked when it is made, and the run's
config.json.

Every default of `TrainConfig` is the paper's (§3.3, docs/model.md §2–3). Its four model
flags (`input_size`, `variant`, `fixation_28`, `recurrence`) make the `ASNetOptions` of
the network it trains (`TrainConfig.model`, through the Table 5 variant registry), and
`ASNetOptions` checks them; every other field is checked here. `to_json` writes those
options at the top level of config.json, which is what loading, export, prediction and
evaluation read back.
"""

import dataclasses
import functools
import os

from asnet_keras.data.verification import DEFAULT_MODE as DEFAULT_VERIFY_MODE
from asnet_keras.data.verification import MODES as VERIFY_MODES
from asnet_keras.model.options import ASNetOptions
from asnet_keras.model.variants import VARIANTS, get_variant
from asnet_keras.names import PAPER_TRAINING_DATASETS as PAPER_DATASETS
from asnet_keras.parameters import (
    ParameterError,
    check_bool,
    check_choice,
    check_int,
    check_number,
)
from asnet_keras.training.bad_samples import ON_BAD_SAMPLE

STRATEGIES = ("none", "mirrored", "multiworker")
MIXED_PRECISION = ("none", "bfloat16", "float16")
MAX_EPOCHS = 1000  # length of the validation-loss record kept in the backup
MAX_BATCH_SIZE = 65536
MAX_STEPS_PER_EPOCH = 10_000_000
MAX_CPU_DEVICES = 1024
MAX_SEED = 2**32 - 1  # NumPy's seed range (keras.utils.set_random_seed)
# Where ASNetOptions' fields come from on the command line.
_MODEL_FLAGS = {"input_size": "--input-size", "fixation_28": "--fixation-28",
                "recurrence": "--recurrence", "fixation_head": "--variant",
                "use_convlstm": "--variant"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; one field per command-line flag.

    Defaults reproduce the paper (§3.3). Every value is checked when the config is made
    (a `ParameterError`, a ValueError, names the field, its flag and what to pass); the
    model flags through `ASNetOptions`, the one validator of a model description. The
    fields that may change when a run is resumed are
    `asnet_keras.training.run_folder.RESUMABLE_CHANGES`; any other change needs a new
    run folder.

    Attributes (besides the fields): `model`, the `ASNetOptions` of the network trained;
    `loss_variant`, the Eq. 7 terms the variant keeps (`asnet_keras.model.losses`).
    """

    data: str = "data/prepared"  # prepared data root (docs/datasets.md §10)
    out: str = "runs/asnet"  # run folder
    datasets: tuple = PAPER_DATASETS  # training datasets (paper: the three of §3.3)
    input_size: int = ASNetOptions.input_size  # square input side, multiple of 16 (paper: 224)
    batch_size: int = 10  # global batch (paper: 10)
    epochs: int = 12  # paper: 12
    steps_per_epoch: int = 0  # 0: ceil(training images / batch size)
    learning_rate: float = 1e-4  # Adam (paper: 1e-4)
    lr_decay_factor: float = 0.1  # paper: divided by 10 …
    lr_decay_epochs: int = 2  # … every two epochs
    patience: int = 3  # early stopping: epochs without a lower val_loss (paper: unsaid)
    backbone_weights: str = "imagenet"  # imagenet | none | PATH of a VGG16 no-top .h5
    variant: str = "full"  # Table 5 variant (asnet_keras.model.variants)
    fixation_28: bool = ASNetOptions.fixation_28  # ASNet-28×28 output (paper §4.1)
    recurrence: str = ASNetOptions.recurrence  # static | stock ("" reads as the default)
    mixed_precision: str = "none"  # none | bfloat16 | float16
    strategy: str = "none"  # none | mirrored | multiworker
    cpu_devices: int = 0  # split the CPU into N logical devices (mirrored tests on CPU)
    seed: int = 0  # data order, augmentation and initial weights
    augment: bool = True  # flips and ±rotation_degrees rotations (paper §3.3)
    rotation_degrees: float = 10.0  # paper: "rotation", range unsaid
    backup_every: int = 100  # steps between backups (plus one at each epoch end)
    verify_data: str = DEFAULT_VERIFY_MODE  # full | quick | off, before the first step
    on_bad_sample: str = "stop"  # stop | skip: an unreadable sample met in training
    jit_compile: bool = False  # XLA-compile the training step
    verbose: int = 1  # 1: progress bar, 0: one line per epoch (2: Keras' epoch line)

    def __post_init__(self):
        for name, value in _checked_fields(self).items():
            object.__setattr__(self, name, value)
        # Making `model` checks the model flags (ASNetOptions); input_size becomes an int.
        object.__setattr__(self, "input_size", self.model.input_size)

    @functools.cached_property
    def model(self):
        """The `ASNetOptions` of the network trained: `input_size`, `fixation_28` and
        `recurrence`, and the architecture switches of the Table 5 `variant`."""
        variant = get_variant(self.variant)
        try:
            return ASNetOptions(input_size=self.input_size, fixation_28=self.fixation_28,
                                recurrence=self.recurrence, **variant.model_options)
        except ParameterError as error:
            flag = _MODEL_FLAGS.get(error.name)
            if error.name == "fixation_28" and variant.model_options:
                flag = f"--fixation-28 with --variant {self.variant}"
            raise error.with_flag(flag) from None

    @property
    def loss_variant(self):
        """The Table 5 loss variant of `variant` (a key of `losses.LOSS_VARIANTS`)."""
        return get_variant(self.variant).loss_variant

    def to_json(self):
        """The config.json description: every field (datasets as a list), the model's
        `ASNetOptions` at the top level (what loading reads back) and `loss_variant`."""
        content = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        content["datasets"] = list(self.datasets)
        content.update(self.model.to_json())
        content["loss_variant"] = self.loss_variant
        return content


def _flag(name):
    return "--" + name.replace("_", "-")


def _checked_fields(config):
    """The fields of `config`, each checked (ParameterError naming its flag) and
    normalised: paths as str, datasets as a tuple, numbers as int or float."""
    get = functools.partial(getattr, config)
    checked = {
        "data": _check_path("data", get("data")),
        "out": _check_path("out", get("out")),
        "datasets": _check_datasets(get("datasets")),
        "backbone_weights": _check_backbone(get("backbone_weights")),
        "variant": check_choice("variant", get("variant"), tuple(VARIANTS), _flag("variant")),
        "recurrence": get("recurrence") or ASNetOptions.recurrence,
    }
    for name in ("augment", "jit_compile"):
        checked[name] = check_bool(name, get(name), _flag(name))
    for name, choices in (("mixed_precision", MIXED_PRECISION), ("strategy", STRATEGIES),
                          ("verify_data", VERIFY_MODES), ("on_bad_sample", ON_BAD_SAMPLE)):
        checked[name] = check_choice(name, get(name), choices, _flag(name))
    for name, low, high in (
        ("batch_size", 1, MAX_BATCH_SIZE), ("epochs", 1, MAX_EPOCHS),
        ("steps_per_epoch", 0, MAX_STEPS_PER_EPOCH), ("lr_decay_epochs", 1, MAX_EPOCHS),
        ("patience", 1, MAX_EPOCHS), ("cpu_devices", 0, MAX_CPU_DEVICES),
        ("seed", 0, MAX_SEED), ("backup_every", 1, MAX_STEPS_PER_EPOCH), ("verbose", 0, 2),
    ):
        checked[name] = check_int(name, get(name), low, high, _flag(name))
    for name, low, high, above_low in (
        ("learning_rate", 0, 1, True), ("lr_decay_factor", 0, 1, True),
        ("rotation_degrees", 0, 180, False),
    ):
        checked[name] = check_number(name, get(name), low, high, above_low=above_low,
                                     flag=_flag(name))
    return checked


def _check_path(name, value):
    """A folder given as a non-empty str or os.PathLike, as a str."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str) or not path.strip() or "\0" in path:
        raise ParameterError(name, value, "pass the path of a folder.", _flag(name))
    return path


def _check_datasets(value):
    """Dataset names (a comma-separated str or a sequence of str) as a tuple: at least
    one, no repeats, each the name of a folder under --data."""
    names = value.split(",") if isinstance(value, str) else value
    advice = f"pass folder names under --data, e.g. {','.join(PAPER_DATASETS)} (the paper's)."
    if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
        names = tuple(n.strip() for n in names if n.strip())
        plain = all(os.path.basename(n) == n and n not in (".", "..") and "\\" not in n
                    for n in names)
        if names and plain and len(set(names)) == len(names):
            return names
        if len(set(names)) != len(names):
            advice = "each dataset once; " + advice
    raise ParameterError("datasets", value, advice, "--datasets")


def _check_backbone(value):
    """`backbone_weights`: "imagenet", "none" (or None, or "") or the path of a VGG16
    no-top `.h5` as a str (whether the file exists is the builder's check)."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if path is not None and not isinstance(path, str):
        raise ParameterError("backbone_weights", value,
                             "pass imagenet, none, or the path of a VGG16 no-top .h5 file.",
                             "--backbone-weights")
    return path


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite; nothing after that was saved."""


def backbone_weights(config):
    """`build_asnet`'s backbone_weights for `--backbone-weights` ("none" → None)."""
    value = config.backbone_weights
    return None if value in (None, "", "none", "None") else value
