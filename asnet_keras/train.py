"""Train ASNet jointly on fixation-only, mask-only and doubly-labelled images.

Paper §3.3, ASNET.md §2–3: SALICON (fixations), THUS10K (masks) and DUT-OMRON (both),
224×224 inputs, batches of 10 balanced between fixation and mask samples, flips and
small rotations, Adam at 1e-4 divided by 10 every two epochs, 12 epochs, early stopping
on the validation loss, VGG16 initialised from ImageNet. Every default of `TrainConfig`
is the paper's.

One training loop serves every scale: no distribution, `mirrored` (several devices of
one host) and `multiworker` (several hosts, `TF_CONFIG`). It is a custom loop over
`tf.distribute` (KERAS_NOTES.md: Keras 3 `fit` fails under MultiWorkerMirroredStrategy,
and `fit` cannot resume in the middle of an epoch). The global batch is split across
replicas; each replica's per-sample losses (Eq. 13, weighted by y_A / y_S) are divided
by the global batch size and summed across replicas, so the step is the same at any
replica count (batch-norm statistics excepted: they are per replica).

Run folder (`--out`):
    config.json                 every TrainConfig field plus the model's options
    history.csv                 one row per finished epoch: epoch (1-based), lr, loss,
                                per-output losses, val_loss, per-output val losses
    logs/train, logs/validation TensorBoard
    last.{keras,h5,weights.h5}  after every epoch
    best.{keras,h5,weights.h5}  the epoch with the lowest val_loss so far
    backup/                     tf.train checkpoints every `--backup-every` steps and at
                                each epoch end (model, optimizer, step, epoch sums)
    skipped_samples.json        samples left out as unreadable (--on-bad-sample skip)
    train.lock                  held while a process trains into the folder
    finished.json               written last when training ends normally

Bad data and full disks (docs/data_integrity.md): before the first step the files the
run reads are verified (`--verify-data`, cached per dataset); a file that fails later
is named, and the run stops with its last backup intact (or skips the sample with
`--on-bad-sample skip`); a second run into the same folder is refused; a backup or
model file that cannot be written completely leaves the previous one and stops the run.

Resuming: run the same command again. A run killed at any point (even `kill -9`)
restarts from its last backup — epoch, step within the epoch, optimizer state (and so
the learning-rate schedule, which follows the optimizer's step), the running sums of the
epoch's losses — and the same data stream position, losing at most the steps since
that backup. history.csv and TensorBoard continue; nothing restarts silently: the run
says where it resumes, and refuses a run folder made with another configuration.

Example:
    python -m asnet_keras.train --data data/prepared --out runs/asnet
    python -m asnet_keras.train --data data/synthetic \\
        --datasets synthetic-fix,synthetic-sod,synthetic-both \\
        --input-size 64 --epochs 2 --backbone-weights none --out runs/demo
"""

import argparse
import csv
import dataclasses
import inspect
import json
import math
import os
import sys
import time

from asnet_keras import atomic_files, bad_samples, prepared, run_lock, verify_data

PAPER_DATASETS = ("salicon", "thus10k", "dut-omron")
STRATEGIES = ("none", "mirrored", "multiworker")
MIXED_PRECISION = ("none", "bfloat16", "float16")
RESULT_FILES = ("best.keras", "best.h5", "best.weights.h5", "last.keras", "last.h5", "last.weights.h5")
# Fields that may differ between a run and its resumption.
RESUMABLE_CHANGES = (
    "verbose", "epochs", "patience", "backup_every", "jit_compile", "strategy", "cpu_devices",
    "replicas", "verify_data", "on_bad_sample",
)
MAX_EPOCHS = 1000  # length of the validation-loss record kept in the backup


def default_recurrence():
    """build_asnet's default `recurrence` (imports Keras: called only when building)."""
    from asnet_keras.model import build_asnet

    return inspect.signature(build_asnet).parameters["recurrence"].default


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on; one field per command-line flag.

    Defaults reproduce the paper (§3.3). `epochs`, `patience` and `verbose` may change
    when a run is resumed; any other change needs a new run folder.
    """

    data: str = "data/prepared"  # prepared data root (DATASETS.md §10)
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
    variant: str = "full"  # Table 5 variant (asnet_keras.variants)
    fixation_28: bool = False  # ASNet-28×28 output (paper §4.1)
    recurrence: str = ""  # static | stock; "" = build_asnet's default (config.json: resolved)
    mixed_precision: str = "none"  # none | bfloat16 | float16
    strategy: str = "none"  # none | mirrored | multiworker
    cpu_devices: int = 0  # split the CPU into N logical devices (mirrored tests on CPU)
    seed: int = 0  # data order, augmentation and initial weights
    augment: bool = True  # flips and ±rotation_degrees rotations (paper §3.3)
    rotation_degrees: float = 10.0  # paper: "rotation", range unsaid
    backup_every: int = 100  # steps between backups (plus one at each epoch end)
    verify_data: str = verify_data.DEFAULT_MODE  # full | quick | off, before the first step
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


# ----------------------------------------------------------------------------------
# Command line


_HELP = {
    "data": "prepared data root, as written by `python -m data_prep` (DATASETS.md §10)",
    "out": "run folder; run the same command again to resume it",
    "datasets": "comma-separated training datasets (paper: salicon,thus10k,dut-omron)",
    "input_size": "square input side in px, a multiple of 16, at least 32 (paper: 224)",
    "batch_size": "global batch size, split across replicas (paper: 10)",
    "epochs": "number of epochs (paper: 12)",
    "steps_per_epoch": "batches per epoch; 0 = ceil(training images / batch size)",
    "learning_rate": "Adam learning rate (paper: 1e-4)",
    "lr_decay_factor": "learning-rate factor applied every --lr-decay-epochs (paper: 0.1)",
    "lr_decay_epochs": "epochs between learning-rate decays (paper: 2)",
    "patience": "early stopping: stop after this many epochs without a lower val_loss",
    "backbone_weights": "VGG16 start: imagenet (download), none (random) or PATH to "
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (for machines without internet)",
    "variant": "Table 5 variant: full, wo_fixation, wo_convlstm, wo_precision, wo_recall, "
    "wo_fmeasure, wo_mae, wo_extra",
    "fixation_28": "add the ASNet-28x28 fixation output (paper §4.1)",
    "recurrence": "ConvLSTM implementation: static (fast, exact) or stock (Keras ConvLSTM2D); "
    "default: build_asnet's default (static)",
    "mixed_precision": "none, bfloat16 (fast on CPUs with AVX-512-BF16 and on GPUs) or "
    "float16 (GPUs; loss scaling on)",
    "strategy": "none (one device), mirrored (all GPUs of this host, or --cpu-devices), "
    "multiworker (several hosts, configured by the TF_CONFIG environment variable)",
    "cpu_devices": "split the CPU into N logical devices (to try --strategy mirrored "
    "without GPUs); 0 = off",
    "seed": "seed of the data order, augmentation and initial weights",
    "augment": "flip and rotate training images (paper §3.3)",
    "rotation_degrees": "rotations are uniform in +-this many degrees",
    "backup_every": "steps between backups of the training state (resume loses at most these)",
    "verify_data": "before the first step, check every file the run reads: quick (headers, "
    "sizes and completeness, no pixel decoding; seconds for the paper's ~25,000 images, a "
    "few minutes from a cold disk), full (also decode every pixel; minutes) or off; "
    "verified files are remembered, so a resumed run re-checks only what changed "
    "(docs/data_integrity.md §1-2)",
    "on_bad_sample": "an unreadable sample (found by the check or in training): stop (name "
    "it; the same command resumes after the repair) or skip (leave it out, counted in "
    "history.csv and finished.json) (docs/data_integrity.md §3)",
    "jit_compile": "XLA-compile the training step",
    "verbose": "1: Keras progress bar; 0: one line per epoch",
}


def build_parser():
    """The argparse parser of `python -m asnet_keras.train`; flags = TrainConfig fields."""
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.train",
        description=(
            "Train ASNet (CVPR 2018) on prepared datasets. Defaults reproduce the paper "
            "(§3.3): SALICON + THUS10K + DUT-OMRON, 224 px, batch 10, Adam 1e-4 /10 every "
            "2 epochs, 12 epochs, early stopping. Re-run the same command to resume."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        kwargs = {"help": _HELP[field.name], "default": default}
        if field.type is bool or isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif field.name == "datasets":
            kwargs["default"] = ",".join(default)
        elif isinstance(default, (int, float)):
            kwargs["type"] = type(default)
        if field.name == "variant":
            from asnet_keras.variants import VARIANTS

            kwargs["choices"] = list(VARIANTS)
        choices = {
            "mixed_precision": MIXED_PRECISION,
            "strategy": STRATEGIES,
            "recurrence": ("static", "stock"),
            "verify_data": verify_data.MODES,
            "on_bad_sample": bad_samples.ON_BAD_SAMPLE,
        }
        if field.name in choices:
            kwargs["choices"] = choices[field.name]
        parser.add_argument(flag, **kwargs)
    return parser


def parse_args(argv=None):
    """Command-line arguments → TrainConfig."""
    args = build_parser().parse_args(argv)
    return TrainConfig(**vars(args))


def main(argv=None):
    config = parse_args(argv)
    try:
        train(config)
    except (ValueError, TrainingDiverged, bad_samples.BadSampleError, run_lock.RunLocked,
            atomic_files.OutputWriteError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------------
# Set-up


def check_config(config):
    """Validate a TrainConfig before any TensorFlow work; ValueError says what to pass."""
    from asnet_keras.variants import get_variant

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
    if config.verify_data not in verify_data.MODES:
        raise ValueError(f"verify_data={config.verify_data!r}: pass one of {verify_data.MODES}.")
    if config.on_bad_sample not in bad_samples.ON_BAD_SAMPLE:
        raise ValueError(f"on_bad_sample={config.on_bad_sample!r}: pass one of "
                         f"{bad_samples.ON_BAD_SAMPLE}.")
    # Missing datasets stop the run here, before any work, naming the data_prep command.
    prepared.check_prepared(config.data, config.datasets)


def model_options(config):
    """build_asnet keyword arguments and loss variant of a config (Table 5 registry)."""
    from asnet_keras.variants import get_variant

    variant = get_variant(config.variant)
    options = {"fixation_head": True, "use_convlstm": True}
    options.update(variant.model_options)
    options["fixation_28"] = bool(config.fixation_28)
    options["recurrence"] = config.recurrence or default_recurrence()
    return options, variant.loss_variant


def backbone_weights(config):
    value = config.backbone_weights
    return None if value in (None, "", "none", "None") else value


def run_config_json(config, extra):
    """config.json contents: the model's options at the top level, every TrainConfig
    field, and what the run resolved (steps per epoch, validation, replicas)."""
    options, loss_variant = model_options(config)
    content = config.to_json()
    content.update(
        config="paper",
        fixation_head=options["fixation_head"],
        use_convlstm=options["use_convlstm"],
        recurrence=options["recurrence"],
        loss_variant=loss_variant,
    )
    content.update(extra)
    return content


def make_strategy(config):
    """The tf.distribute strategy; must run before any other TensorFlow op."""
    import tensorflow as tf

    if config.cpu_devices and config.cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_devices
            )
        except RuntimeError as error:
            raise ValueError(
                f"--cpu-devices {config.cpu_devices}: TensorFlow was already initialised in "
                f"this process ({error}); start a fresh process."
            ) from None
    if config.strategy == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multiworker needs the TF_CONFIG environment variable on every "
                'worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
                '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\'.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(
            devices=cpus, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )
    return tf.distribute.get_strategy()


def worker_role(strategy):
    """(is_chief, worker index) under `strategy` (single-host: (True, 0))."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return is_chief, task_id


# ----------------------------------------------------------------------------------
# History, best model, early stopping


def read_history(path):
    """Rows of history.csv as dicts of floats (epoch as int); [] if absent."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = []
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if v not in ("", None)}
            parsed["epoch"] = int(parsed["epoch"])
            if bad_samples.HISTORY_COLUMN in parsed:  # a count, written back as an int
                parsed[bad_samples.HISTORY_COLUMN] = int(parsed[bad_samples.HISTORY_COLUMN])
            rows.append(parsed)
        return rows


def write_history(path, rows, columns):
    """Write history.csv atomically (docs/data_integrity.md §5)."""
    with atomic_files.atomic_output(path, fsync=True) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)


def best_so_far(rows):
    """(best epoch, best val_loss, epochs since best) of history rows; (0, inf, 0) if none."""
    best_epoch, best = 0, math.inf
    for row in rows:
        if row["val_loss"] < best:
            best_epoch, best = row["epoch"], row["val_loss"]
    since = (rows[-1]["epoch"] - best_epoch) if rows else 0
    return best_epoch, best, since


def _save_model_files(model, out, prefix):
    """Write prefix.keras, prefix.h5 and prefix.weights.h5 atomically (temp + rename; a
    full disk leaves the previous files and raises OutputWriteError)."""
    for suffix in (".keras", ".h5", ".weights.h5"):
        final = os.path.join(out, prefix + suffix)
        with atomic_files.atomic_output(final, fsync=True) as tmp:  # keeps the suffix
            if suffix == ".weights.h5":
                model.save_weights(tmp)
            else:
                model.save(tmp)


def _copy_model_files(out, source, target):
    for suffix in (".keras", ".h5", ".weights.h5"):
        atomic_files.atomic_copy(os.path.join(out, source + suffix),
                                 os.path.join(out, target + suffix), fsync=True)


def _write_json(path, content):
    atomic_files.atomic_write_text(path, json.dumps(content, indent=2, sort_keys=True) + "\n",
                                   fsync=True)


def _check_resumable(out, content):
    """Refuse to resume a run folder made with another configuration."""
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as f:
        old = json.load(f)
    changed = [
        key for key in content
        if key not in RESUMABLE_CHANGES and key in old and old[key] != content[key]
    ]
    if changed:
        diffs = ", ".join(f"{k}: {old[k]!r} → {content[k]!r}" for k in changed)
        raise ValueError(
            f"{out} holds a run with another configuration ({diffs}). Resume it with its "
            f"own command (see {path}), or pass a new --out."
        )


# ----------------------------------------------------------------------------------
# Training


def paths_of(out):
    """What a run folder holds, by name."""
    names = {name.replace(".", "_"): name for name in RESULT_FILES}
    paths = {key: os.path.join(out, name) for key, name in names.items()}
    for key, name in (
        ("config", "config.json"), ("history", "history.csv"), ("logs", "logs"),
        ("backup", "backup"), ("finished", "finished.json"),
    ):
        paths[key] = os.path.join(out, name)
    return paths


def train(config):
    """Train ASNet as `config` says, resuming its run folder if it holds a backup.

    Args:
        config: a `TrainConfig`.
    Returns:
        dict name → path of what the run folder holds (`paths_of`): best/last models in
        three formats, config, history, logs, backup, finished.
    Raises:
        ValueError: a bad option or missing prepared data (before any work), or a run
            folder made with another configuration.
        TrainingDiverged: the loss or weights became NaN/inf; the run stops, and the
            files written before stay as they were.
        run_lock.RunLocked: another process trains into `config.out`.
        verify_data.DataProblems: unreadable data found before the first step.
        bad_samples.BadSampleError: a sample failed to load in training (stop mode).
        atomic_files.OutputWriteError: a file could not be written (full disk); the
            previous version is intact.
    """
    if isinstance(config, dict):
        config = TrainConfig(**config)
    check_config(config)
    out = os.path.abspath(config.out)
    paths = paths_of(out)
    if os.path.isfile(paths["finished"]):
        print(f"{out} has already finished ({paths['finished']}); nothing to do.")
        return paths

    # docs/data_integrity.md §4 and §1: one process per run folder; data checked before
    # any TensorFlow work.
    with run_lock.run_lock(out, run_lock.lock_name(config.strategy)):
        atomic_files.remove_stale_temporaries(out)  # of a run killed while writing
        guard = bad_samples.BadSampleGuard(config, out)
        guard.verify_before_training()
        strategy = make_strategy(config)  # before any other TensorFlow op
        import keras

        from asnet_keras import data

        policy = keras.mixed_precision.global_policy().name
        if config.mixed_precision != "none":
            keras.mixed_precision.set_global_policy(f"mixed_{config.mixed_precision}")
        try:
            return _train(config, strategy, out, paths, data, guard)
        except Exception as error:  # a full disk anywhere (TensorBoard too): one message
            if atomic_files.is_no_room(error) and not isinstance(
                    error, atomic_files.OutputWriteError):
                raise atomic_files.as_write_error(out, error) from error
            raise
        finally:
            keras.mixed_precision.set_global_policy(policy)


def _train(config, strategy, out, paths, data, guard):
    import keras
    import tensorflow as tf

    from asnet_keras.model import build_asnet

    is_chief, worker = worker_role(strategy)
    replicas = strategy.num_replicas_in_sync
    say = print if is_chief else (lambda *a, **k: None)
    guard.bind(is_chief, say)

    n_train, n_val = data.count_images(config.data, config.datasets, guard.keys)
    steps_per_epoch = config.steps_per_epoch or math.ceil(n_train / config.batch_size)
    validation = {
        name: how for name, (_, _, how)
        in data.training_samples(config.data, config.datasets, guard.keys).items()
    }
    options, loss_variant = model_options(config)
    content = run_config_json(config, {
        "steps_per_epoch_resolved": steps_per_epoch,
        "training_images": n_train,
        "validation_images": n_val,
        "validation": validation,
        "replicas": replicas,
    })
    content["datasets"] = list(config.datasets)
    if is_chief:
        _check_resumable(out, content)
        os.makedirs(out, exist_ok=True)
        _write_json(paths["config"], content)

    keras.utils.set_random_seed(config.seed)
    size = config.input_size
    with strategy.scope():
        # Batch norm statistics over the global batch when it is split across replicas,
        # so N replicas train as one device would (paper config; §3.3 batch of 10).
        sync = strategy.num_replicas_in_sync > 1 and not options.get("config") == "released"
        model = build_asnet(
            (size, size, 3), backbone_weights(config), sync_batchnorm=sync, **options
        )
        schedule = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=config.lr_decay_epochs * steps_per_epoch,
            decay_rate=config.lr_decay_factor,
            staircase=True,
        )
        optimizer = keras.optimizers.Adam(schedule)
        if config.mixed_precision == "float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
        global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        output_names = list(model.output_names)
        epoch_sums = tf.Variable(
            tf.zeros(len(output_names) + 2, tf.float64), trainable=False, name="epoch_sums"
        )  # Σ loss, Σ per-output loss …, number of steps
        # Every worker decides early stopping from this record, so all decide alike.
        val_record = tf.Variable(
            tf.fill([MAX_EPOCHS], tf.constant(float("nan"), tf.float64)), trainable=False, name="val_loss_record"
        )

    checkpoint = tf.train.Checkpoint(
        model=model, optimizer=optimizer, global_step=global_step, epoch_sums=epoch_sums,
        val_record=val_record,
    )
    backup_dir = paths["backup"] if is_chief else os.path.join(paths["backup"], f"worker-{worker}")
    manager = tf.train.CheckpointManager(checkpoint, backup_dir, max_to_keep=2)

    # ------------------------------------------------------------------ resume
    history = read_history(paths["history"]) if is_chief else []
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        start = int(global_step.numpy())
        say(
            f"All {start // steps_per_epoch} epochs of {out} are done (backup "
            f"{manager.latest_checkpoint})." if start >= config.epochs * steps_per_epoch else
            f"Resuming {out} from epoch {start // steps_per_epoch + 1}, step "
            f"{start % steps_per_epoch}/{steps_per_epoch} (backup {manager.latest_checkpoint})."
        )
    else:
        start = 0
        if history or os.path.isdir(paths["logs"]):
            say(f"No backup in {backup_dir}: starting {out} from scratch (old history dropped).")
        else:
            say(f"Starting {out}: {n_train} training and {n_val} validation images, "
                f"{steps_per_epoch} steps per epoch, {replicas} replica(s).")
    done_epochs = start // steps_per_epoch
    history = [row for row in history if row["epoch"] <= done_epochs]
    columns = (
        ["epoch", "lr", "loss"] + [f"{n}_loss" for n in output_names]
        + ["val_loss"] + [f"val_{n}_loss" for n in output_names]
        + [bad_samples.HISTORY_COLUMN]
    )
    if is_chief:
        write_history(paths["history"], history, columns)

    total_steps = config.epochs * steps_per_epoch
    if _should_stop(_record_rows(val_record, done_epochs), done_epochs, config):
        return _finish(config, paths, _record_rows(val_record, done_epochs), done_epochs,
                       is_chief, say, guard)

    # ------------------------------------------------------------------ data
    global_batch = config.batch_size

    def train_stream(first):  # rebuilt from the failed step when a sample is skipped
        train_ds = data.training_dataset(
            config.data, config.datasets, output_names, size, global_batch,
            seed=config.seed, augment_data=config.augment,
            rotation_degrees=config.rotation_degrees,
            start_step=first, steps=max(1, total_steps - first), skip=guard.keys,
        )
        return iter(strategy.experimental_distribute_dataset(train_ds))

    val_cache = {}

    def validation_stream(skip):
        if skip not in val_cache:
            val_cache.clear()
            val_cache[skip] = strategy.experimental_distribute_dataset(data.validation_dataset(
                config.data, config.datasets, output_names, size, global_batch,
                pad_to_batch=True, skip=skip,
            ))
        return val_cache[skip]

    train_iter = train_stream(start)

    # ------------------------------------------------------------------ steps
    train_step, val_step = make_step_functions(
        strategy, model, optimizer, loss_variant, global_batch, config.jit_compile
    )

    # ------------------------------------------------------------------ loop
    writers = {}
    if is_chief:
        writers = {
            part: tf.summary.create_file_writer(os.path.join(paths["logs"], part))
            for part in ("train", "validation")
        }
    names = ["loss"] + [f"{n}_loss" for n in output_names]
    step = start
    while step < total_steps:
        epoch = step // steps_per_epoch
        if step % steps_per_epoch == 0:
            epoch_sums.assign(tf.zeros_like(epoch_sums))
        say(f"Epoch {epoch + 1}/{config.epochs}")
        progbar = keras.utils.Progbar(
            steps_per_epoch, verbose=config.verbose if is_chief else 0, stateful_metrics=names
        )
        lr = float(schedule(epoch * steps_per_epoch))
        started = time.time()
        while True:
            try:
                values = train_step(train_iter).numpy()
            except tf.errors.OpError as error:  # an unreadable sample: stop or skip it
                guard.train_error(error, step, steps_per_epoch, manager.latest_checkpoint)
                train_iter = train_stream(step)
                continue
            step += 1
            if not all(math.isfinite(v) for v in values):
                raise TrainingDiverged(
                    f"the training loss became {values[0]} at epoch {epoch + 1}, step "
                    f"{step - epoch * steps_per_epoch}; stopped without saving. The last good "
                    f"backup stays in {backup_dir}; lower --learning-rate or check the data."
                )
            sums = epoch_sums.numpy()
            sums[:-1] += values
            sums[-1] += 1
            epoch_sums.assign(sums)
            global_step.assign(step)
            means = sums[:-1] / sums[-1]
            progbar.update(step - epoch * steps_per_epoch, list(zip(names, means)))
            if is_chief and step % 10 == 0:
                _scalar(writers["train"], "batch_loss", values[0], step)
            if step % steps_per_epoch == 0:
                break
            if step % config.backup_every == 0:
                _check_weights(model, epoch, backup_dir)
                atomic_files.save_checkpoint(manager, step)

        # ---- epoch end: validation, history, models, backup, early stopping
        val = guard.validate(validation_stream, val_step, epoch, manager.latest_checkpoint)
        val_means = val[:-1] / max(val[-1], 1.0)
        row = {"epoch": epoch + 1, "lr": lr}
        row.update((n, float(v)) for n, v in zip(names, means))
        row.update(("val_" + n, float(v)) for n, v in zip(names, val_means))
        row[bad_samples.HISTORY_COLUMN] = guard.history_value()
        if not all(math.isfinite(v) for v in row.values()):
            raise TrainingDiverged(
                f"a loss became NaN/inf at the end of epoch {epoch + 1} ({row}); stopped "
                f"without saving. The last good backup stays in {backup_dir}."
            )
        _check_weights(model, epoch, backup_dir)
        history.append(row)
        record = val_record.numpy()
        record[epoch] = row["val_loss"]
        val_record.assign(record)
        if is_chief:
            write_history(paths["history"], history, columns)
            for part, prefix in (("train", ""), ("validation", "val_")):
                for n in names:
                    _scalar(writers[part], "epoch_" + n, row[prefix + n], epoch + 1)
            _scalar(writers["train"], "epoch_learning_rate", lr, epoch + 1)
            _save_model_files(model, out, "last")
            best_epoch, _, _ = best_so_far(_record_rows(val_record, epoch + 1))
            if best_epoch == epoch + 1:
                _copy_model_files(out, "last", "best")
        atomic_files.save_checkpoint(manager, step)
        say(
            f"epoch {epoch + 1}: loss {row['loss']:.4f}, val_loss {row['val_loss']:.4f}, "
            f"lr {lr:.1e}, {time.time() - started:.0f} s"
        )
        if _should_stop(_record_rows(val_record, epoch + 1), epoch + 1, config):
            break
    done_epochs = step // steps_per_epoch
    return _finish(config, paths, _record_rows(val_record, done_epochs), done_epochs, is_chief,
                   say, guard)


def make_step_functions(strategy, model, optimizer, loss_variant, global_batch, jit_compile=False):
    """The distributed training and validation steps (Eq. 13 under tf.distribute).

    Args:
        strategy: the tf.distribute strategy the model and optimizer were built under.
        model, optimizer: an ASNet model and its (built) optimizer.
        loss_variant: Table 5 saliency loss variant.
        global_batch: images per step over all replicas.
        jit_compile: XLA-compile the training step.
    Returns:
        (train_step, val_step): `train_step(distributed_iterator)` runs one step and
        returns (1 + outputs,) float32: the loss and each output's loss, averaged over the
        global batch; `val_step(distributed_batch)` with (image, targets, weights, valid)
        returns (2 + outputs,): Σ weighted loss, Σ per output, Σ valid (sums, not means).
    """
    import keras
    import tensorflow as tf

    from asnet_keras.losses import asnet_losses

    output_names = list(model.output_names)
    losses = asnet_losses(output_names, loss_variant)
    loss_fns = [_per_sample(losses[n]) for n in output_names]
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def replica_train_step(image, targets, weights):
        with tf.GradientTape() as tape:
            predictions = model(image, training=True)
            per_output = [
                fn(t, tf.cast(p, tf.float32)) * w
                for fn, t, p, w in zip(loss_fns, targets, predictions, weights)
            ]  # Eq. 13: y_A·L_Att and y_S·L_Sal per sample, (batch,) each
            total = tf.add_n(per_output)
            loss = tf.nn.compute_average_loss(total, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            objective = optimizer.scale_loss(loss) if scaled else loss
        gradients = tape.gradient(objective, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return tf.stack(
            [loss] + [tf.nn.compute_average_loss(v, global_batch_size=global_batch)
                      for v in per_output]
        )

    def replica_val_step(image, targets, weights, valid):
        predictions = model(image, training=False)
        per_output = [
            tf.reduce_sum(fn(t, tf.cast(p, tf.float32)) * w)
            for fn, t, p, w in zip(loss_fns, targets, predictions, weights)
        ]
        return tf.stack([tf.add_n(per_output)] + per_output + [tf.reduce_sum(valid)])

    # No Python control flow depends on tensors here: autograph off saves seconds of tracing.
    @tf.function(jit_compile=jit_compile or None, autograph=False)
    def train_step(iterator):
        values = strategy.run(replica_train_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)

    @tf.function(autograph=False)
    def val_step(batch):
        values = strategy.run(replica_val_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)

    return train_step, val_step


def _scalar(writer, tag, value, step):
    """Write one TensorBoard scalar without needing the `tensorboard` package.

    `tf.summary.scalar` lives in the tensorboard package, which this project does not
    require; this writes the same event (the "scalars" plugin's metadata) with
    TensorFlow's core `tf.summary.write`, which TensorBoard reads as a scalar.
    """
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    with writer.as_default():
        tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=metadata)
    writer.flush()


def _per_sample(loss):
    """A loss as a per-sample function (batch,) (Loss objects without their reduction)."""
    import keras

    return loss.call if isinstance(loss, keras.losses.Loss) else loss


def _check_weights(model, epoch, backup_dir):
    import numpy as np

    for variable in model.weights:
        if not np.all(np.isfinite(variable.numpy())):
            raise TrainingDiverged(
                f"weight {variable.path} became NaN/inf in epoch {epoch + 1}; stopped without "
                f"saving. The last good backup stays in {backup_dir}."
            )


def _record_rows(val_record, done_epochs):
    """The checkpointed validation losses of the finished epochs as history-like rows."""
    values = val_record.numpy()[:done_epochs]
    return [{"epoch": i + 1, "val_loss": float(v)} for i, v in enumerate(values)]


def _should_stop(history, done_epochs, config):
    """All epochs done, or `patience` epochs without a lower val_loss."""
    if done_epochs >= config.epochs:
        return True
    _, _, since = best_so_far(history)
    return bool(history) and since >= config.patience


def _finish(config, paths, history, done_epochs, is_chief, say, guard=None):
    best_epoch, best, since = best_so_far(history)
    if is_chief:
        early = done_epochs < config.epochs
        content = {
            "epochs": done_epochs,
            "best_epoch": best_epoch,
            "best_val_loss": best,
            "early_stopped": early,
            "reason": (f"no lower val_loss for {since} epochs (patience {config.patience})"
                       if early else f"all {config.epochs} epochs done"),
        }
        if guard is not None:
            content.update(guard.finished_entry())
            if guard.records:
                say(f"{len(guard.records)} sample(s) were skipped as unreadable "
                    f"(finished.json, {guard.path}).")
        _write_json(paths["finished"], content)
        say(f"Finished after {done_epochs} epochs; best val_loss {best:.4f} at epoch "
            f"{best_epoch}. Models in {os.path.dirname(paths['finished'])}.")
    return paths


if __name__ == "__main__":
    sys.exit(main())
