"""What a training run depends on: `TrainConfig`, its checks, and the run's config.json.

Every default of `TrainConfig` is the paper's (§3.3, docs/model.md §2–3). `model_options`
maps a config onto the `ASNetOptions` of the network it trains (via the Table 5 variant
registry); `run_config_json` writes those options at the top level of config.json, which
is what loading, export, prediction and evaluation read back.
"""

import dataclasses

from asnet_keras.data.layout import check_prepared
from asnet_keras.data.verification import DEFAULT_MODE as DEFAULT_VERIFY_MODE
from asnet_keras.data.verification import MODES as VERIFY_MODES
from asnet_keras.model.options import ASNetOptions
from asnet_keras.model.variants import get_variant
from asnet_keras.names import PAPER_TRAINING_DATASETS as PAPER_DATASETS
from asnet_keras.training.bad_samples import ON_BAD_SAMPLE

STRATEGIES = ("none", "mirrored", "multiworker")
MIXED_PRECISION = ("none", "bfloat16", "float16")
# Fields that may differ between a run and its resumption.
RESUMABLE_CHANGES = (
    "verbose", "epochs", "patience", "backup_every", "jit_compile", "strategy", "cpu_devices",
    "replicas",
)
MAX_EPOCHS = 1000  # length of the validation-loss record kept in the backup


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on; one field per command-line flag.

    Defaults reproduce the paper (§3.3). `epochs`, `patience` and `verbose` may change
    when a run is resumed; any other change needs a new run folder.
    """

    data: str = "data/prepared"  # prepared data root (docs/datasets.md §10)
    out: str = "runs/asnet"  # run folder
    datasets: tuple = PAPER_DATASETS  # training datasets (paper: the three of §3.3)
    input_size: int = 224  # square input side, multiple of 16 (paper: 224)
    batch_size: int = 10  # global batch (paper: 10)
    epochs: int = 12  # paper: 12
    steps_per_epoch: int = 0  # 0: ceil(training images / batch size)
    learning_rate: float = 1e-4  # Adam (paper: 1e-4)
    lr_decay_factor: float = 0.1  # paper: divided by 10 …
    lr_decay_epochs: int = 2  # … every two epochs
    patience: int = 3  # early stopping: epochs without a lower val_loss (paper: unsaid)
    backbone_weights: str = "imagenet"  # imagenet | none | PATH of a VGG16 no-top .h5
    variant: str = "full"  # Table 5 variant (asnet_keras.model.variants)
    fixation_28: bool = False  # ASNet-28×28 output (paper §4.1)
    recurrence: str = ""  # static | stock; "" = ASNetOptions' default (config.json: resolved)
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
    verbose: int = 1  # 1: progress bar, 0: one line per epoch

    def __post_init__(self):
        if isinstance(self.datasets, str):
            self.datasets = tuple(d.strip() for d in self.datasets.split(",") if d.strip())
        self.datasets = tuple(self.datasets)

    def to_json(self):
        """The fields as a JSON-ready dict (datasets as a list)."""
        fields = dataclasses.asdict(self)
        fields["datasets"] = list(self.datasets)
        return fields


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite; nothing after that was saved."""


def check_config(config):
    """Validate a TrainConfig before any TensorFlow work; ValueError says what to pass."""
    get_variant(config.variant)
    if config.strategy not in STRATEGIES:
        raise ValueError(f"strategy={config.strategy!r}: pass one of {STRATEGIES}.")
    if config.mixed_precision not in MIXED_PRECISION:
        raise ValueError(f"mixed_precision={config.mixed_precision!r}: pass one of {MIXED_PRECISION}.")
    if config.input_size < 32 or config.input_size % 16:
        raise ValueError(f"input_size={config.input_size}: pass a multiple of 16, at least 32.")
    if config.batch_size < 1 or not 1 <= config.epochs <= MAX_EPOCHS:
        raise ValueError(f"batch_size must be at least 1 and epochs 1 … {MAX_EPOCHS}.")
    if not config.datasets:
        raise ValueError("datasets is empty: pass e.g. --datasets salicon,thus10k,dut-omron.")
    if config.variant == "wo_fixation" and config.fixation_28:
        raise ValueError("--fixation-28 needs the fixation head: not with --variant wo_fixation.")
    if config.verify_data not in VERIFY_MODES:
        raise ValueError(f"verify_data={config.verify_data!r}: pass one of {VERIFY_MODES}.")
    if config.on_bad_sample not in ON_BAD_SAMPLE:
        raise ValueError(f"on_bad_sample={config.on_bad_sample!r}: pass one of {ON_BAD_SAMPLE}.")
    # Missing datasets stop the run here, before any work, naming the data_prep command.
    check_prepared(config.data, config.datasets)


def model_options(config):
    """The `ASNetOptions` and the loss variant of a config (Table 5 registry)."""
    variant = get_variant(config.variant)
    options = ASNetOptions(input_size=config.input_size, fixation_28=bool(config.fixation_28),
                           **variant.model_options)
    if config.recurrence:
        options = options.replace(recurrence=config.recurrence)
    return options, variant.loss_variant


def backbone_weights(config):
    """`build_asnet`'s backbone_weights for `--backbone-weights` ("none" → None)."""
    value = config.backbone_weights
    return None if value in (None, "", "none", "None") else value


def run_config_json(config, extra):
    """config.json contents: the model's options at the top level, every TrainConfig
    field, and what the run resolved (steps per epoch, validation, replicas)."""
    options, loss_variant = model_options(config)
    content = config.to_json()
    content.update(options.to_json())  # ASNetOptions: what loading reads back
    content["loss_variant"] = loss_variant
    content.update(extra)
    return content
