"""Train ASNet jointly on fixation-only, mask-only and doubly-labelled images.

Paper §3.3, docs/model.md §2–3: SALICON (fixations), THUS10K (masks) and DUT-OMRON
(both), 224×224 inputs, batches of 10 balanced between fixation and mask samples, flips
and small rotations, Adam at 1e-4 divided by 10 every two epochs, 12 epochs, early
stopping on the validation loss, VGG16 initialised from ImageNet. Every default of
`TrainConfig` is the paper's.

One training loop serves every scale: no distribution, `mirrored` (several devices of
one host) and `multiworker` (several hosts, `TF_CONFIG`). It is a custom loop over
`tf.distribute` (docs/framework_notes.md: Keras 3 `fit` fails under
MultiWorkerMirroredStrategy, and `fit` cannot resume in the middle of an epoch); its
steps are `asnet_keras.training.steps` (Eq. 13). The run folder's contents are listed in
`asnet_keras.training.run_folder`.

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
    asnet train --data data/prepared --out runs/asnet
    asnet train --data data/synthetic \\
        --datasets synthetic-fix,synthetic-sod,synthetic-both \\
        --input-size 64 --epochs 2 --backbone-weights none --out runs/demo
"""

import dataclasses
import math
import os
import time

from asnet_keras.data.layout import check_prepared
from asnet_keras import devices
from asnet_keras.io import atomic_files
from asnet_keras.training import bad_samples, run_lock
from asnet_keras.training.config import (
    MAX_EPOCHS,
    TrainConfig,
    TrainingDiverged,
    backbone_weights,
)
from asnet_keras.training.distribution import make_strategy, worker_role
from asnet_keras.training.run_folder import (
    best_so_far,
    check_resumable,
    copy_model_files,
    paths_of,
    read_history,
    save_model_files,
    write_history,
    write_json,
)
from asnet_keras.training.steps import make_step_functions
from asnet_keras.training.summaries import write_scalar


def train(config):
    """Train ASNet as `config` says, resuming its run folder if it holds a backup.

    Args:
        config: a `TrainConfig` (or a dict of its fields), checked when it is made.
    Returns:
        dict name → path of what the run folder holds (`paths_of`): best/last models in
        three formats, config, history, logs, backup, finished.
    Raises:
        ValueError: a bad option or missing prepared data (before any work), or a run
            folder made with another configuration, or a Keras backend other than
            TensorFlow (this loop is tf.distribute code).
        TrainingDiverged: the loss or weights became NaN/inf; the run stops, and the
            files written before stay as they were.
        run_lock.RunLocked: another process trains into `config.out`.
        verification.DataProblems: unreadable data found before the first step.
        bad_samples.BadSampleError: a sample failed to load in training (stop mode).
        atomic_files.OutputWriteError: a file could not be written (full disk); the
            previous version is intact.
    """
    if isinstance(config, dict):
        config = TrainConfig(**config)
    _check_backend()
    # Missing datasets stop the run here, before any work, naming the data_prep command.
    check_prepared(config.data, config.datasets)
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

        policy = keras.mixed_precision.global_policy().name
        if config.mixed_precision != "none":
            keras.mixed_precision.set_global_policy(f"mixed_{config.mixed_precision}")
        try:
            return _train(config, strategy, out, paths, guard)
        except Exception as error:  # a full disk anywhere (TensorBoard too): one message
            if atomic_files.is_no_room(error) and not isinstance(
                    error, atomic_files.OutputWriteError):
                raise atomic_files.as_write_error(out, error) from error
            raise
        finally:
            keras.mixed_precision.set_global_policy(policy)


@dataclasses.dataclass
class _Run:
    """Everything one training process holds while it runs."""

    config: TrainConfig
    out: str
    paths: dict
    strategy: object
    is_chief: bool
    backup_dir: str
    steps_per_epoch: int
    guard: bad_samples.BadSampleGuard  # unreadable samples: stop, or skip and record
    model: object = None
    optimizer: object = None
    schedule: object = None
    global_step: object = None  # tf.Variable: steps done
    epoch_sums: object = None  # tf.Variable: Σ loss, Σ per-output loss …, number of steps
    val_record: object = None  # tf.Variable: val_loss of each finished epoch (NaN after)
    manager: object = None  # tf.train.CheckpointManager of the backup
    output_names: list = dataclasses.field(default_factory=list)

    def say(self, *args, **kwargs):
        """Print on the chief only."""
        if self.is_chief:
            print(*args, **kwargs)

    @property
    def total_steps(self):
        return self.config.epochs * self.steps_per_epoch

    @property
    def loss_names(self):
        return ["loss"] + [f"{n}_loss" for n in self.output_names]

    @property
    def history_columns(self):
        return (["epoch", "lr"] + self.loss_names + ["val_" + n for n in self.loss_names]
                + [bad_samples.HISTORY_COLUMN])


def _train(config, strategy, out, paths, guard):
    """Set the run up, resume it, and run its epochs (in that order)."""
    from asnet_keras.data import pipeline  # TensorFlow: loaded when training starts

    is_chief, worker = worker_role(strategy)
    n_train, n_val = pipeline.count_images(config.data, config.datasets, guard.keys)
    run = _Run(
        config=config, out=out, paths=paths, strategy=strategy, is_chief=is_chief,
        backup_dir=paths["backup"] if is_chief else os.path.join(paths["backup"], f"worker-{worker}"),
        steps_per_epoch=config.steps_per_epoch or math.ceil(n_train / config.batch_size),
        guard=guard,
    )
    guard.bind(is_chief, run.say)
    _write_run_config(run, pipeline, n_train, n_val)
    _build_training_state(run)
    start, history = _restore(run, n_train, n_val)
    done_epochs = start // run.steps_per_epoch
    if _should_stop(_record_rows(run.val_record, done_epochs), done_epochs, config):
        return _finish(run, done_epochs)
    streams = _Streams(run, pipeline, start)
    train_step, val_step = make_step_functions(
        strategy, run.model, run.optimizer, config.loss_variant, config.batch_size,
        config.jit_compile,
    )
    writers = _summary_writers(run)
    step = start
    while step < run.total_steps:
        epoch = step // run.steps_per_epoch
        started = time.time()
        step, means = _run_epoch_steps(run, train_step, streams, step, writers)
        row = _validate(run, val_step, streams, epoch, means)
        _end_epoch(run, epoch, step, row, history, writers, started)
        if _should_stop(_record_rows(run.val_record, epoch + 1), epoch + 1, config):
            break
    return _finish(run, step // run.steps_per_epoch)


def _write_run_config(run, pipeline, n_train, n_val):
    """config.json: refuse a folder made with another configuration, then (re)write it."""
    config = run.config
    validation = {
        name: how
        for name, (_, _, how)
        in pipeline.training_samples(config.data, config.datasets, run.guard.keys).items()
    }
    content = {
        **config.to_json(),  # every field, the model's ASNetOptions, loss_variant
        "steps_per_epoch_resolved": run.steps_per_epoch,
        "training_images": n_train,
        "validation_images": n_val,
        "validation": validation,
        "replicas": run.strategy.num_replicas_in_sync,
    }
    if run.is_chief:
        check_resumable(run.out, content)
        os.makedirs(run.out, exist_ok=True)
        write_json(run.paths["config"], content)


def _check_backend():
    """The loop is `tf.distribute` code: refuse another Keras backend with the way out."""
    backend = devices.keras_backend()
    if backend != "tensorflow":
        raise ValueError(
            f"Keras runs on the {backend} backend (KERAS_BACKEND), but this trainer is built "
            "on tf.distribute and needs KERAS_BACKEND=tensorflow. To train under "
            f"{backend} on one device, use asnet_keras.compile_asnet(model) and "
            "model.fit(asnet_keras.data.pipeline.training_dataset(...)) (README, "
            '"Other backends"; docs/backends.md §4).'
        )


def _build_training_state(run):
    """Model, optimizer (with the paper's step schedule) and the checkpointed counters,
    all created under the strategy's scope; the backup manager over them."""
    import keras
    import tensorflow as tf

    config = run.config
    keras.utils.set_random_seed(config.seed)
    with run.strategy.scope():
        # Batch-norm statistics over the global batch when it is split across replicas,
        # so N replicas train as one device would (§3.3 batch of 10).
        sync = run.strategy.num_replicas_in_sync > 1
        run.model = config.model.build(backbone_weights(config), sync_batchnorm=sync)
        run.schedule = keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate,
            decay_steps=config.lr_decay_epochs * run.steps_per_epoch,
            decay_rate=config.lr_decay_factor,
            staircase=True,
        )
        optimizer = keras.optimizers.Adam(run.schedule)
        if config.mixed_precision == "float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(run.model.trainable_variables)
        run.optimizer = optimizer
        run.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        run.output_names = list(run.model.output_names)
        run.epoch_sums = tf.Variable(
            tf.zeros(len(run.output_names) + 2, tf.float64), trainable=False, name="epoch_sums"
        )
        # Every worker decides early stopping from this record, so all decide alike.
        run.val_record = tf.Variable(
            tf.fill([MAX_EPOCHS], tf.constant(float("nan"), tf.float64)), trainable=False,
            name="val_loss_record",
        )
    checkpoint = tf.train.Checkpoint(
        model=run.model, optimizer=run.optimizer, global_step=run.global_step,
        epoch_sums=run.epoch_sums, val_record=run.val_record,
    )
    run.manager = tf.train.CheckpointManager(checkpoint, run.backup_dir, max_to_keep=2)


def _restore(run, n_train, n_val):
    """Resume from the latest backup, if any; say where. Returns (start step, history
    rows of the finished epochs), and rewrites history.csv to those rows."""
    paths, manager = run.paths, run.manager
    history = read_history(paths["history"]) if run.is_chief else []
    per_epoch = run.steps_per_epoch
    if manager.latest_checkpoint:
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        start = int(run.global_step.numpy())
        run.say(
            f"All {start // per_epoch} epochs of {run.out} are done (backup "
            f"{manager.latest_checkpoint})." if start >= run.total_steps else
            f"Resuming {run.out} from epoch {start // per_epoch + 1}, step "
            f"{start % per_epoch}/{per_epoch} (backup {manager.latest_checkpoint})."
        )
    else:
        start = 0
        if history or os.path.isdir(paths["logs"]):
            run.say(f"No backup in {run.backup_dir}: starting {run.out} from scratch "
                    "(old history dropped).")
        else:
            run.say(f"Starting {run.out}: {n_train} training and {n_val} validation images, "
                    f"{per_epoch} steps per epoch, "
                    f"{run.strategy.num_replicas_in_sync} replica(s).")
    history = [row for row in history if row["epoch"] <= start // per_epoch]
    if run.is_chief:
        write_history(paths["history"], history, run.history_columns)
    return start, history


class _Streams:
    """The distributed data of a run: the training stream from a given step (the same
    draws as an uninterrupted run; rebuilt from the failed step when a sample is
    skipped) and the padded validation set (rebuilt when a validation sample is)."""

    def __init__(self, run, pipeline, start):
        self.run, self.pipeline = run, pipeline
        self._validation = {}
        self.train_iter = self.training_from(start)

    def training_from(self, first):
        """An iterator over the training batches from step `first` on."""
        run, config = self.run, self.run.config
        dataset = self.pipeline.training_dataset(
            config.data, config.datasets, run.output_names, config.input_size,
            config.batch_size, seed=config.seed, augment_data=config.augment,
            rotation_degrees=config.rotation_degrees, start_step=first,
            steps=max(1, run.total_steps - first), skip=run.guard.keys,
        )
        return iter(run.strategy.experimental_distribute_dataset(dataset))

    def validation(self, skip):
        """The distributed validation set without the samples in `skip` (cached)."""
        if skip not in self._validation:
            run, config = self.run, self.run.config
            self._validation.clear()
            self._validation[skip] = run.strategy.experimental_distribute_dataset(
                self.pipeline.validation_dataset(
                    config.data, config.datasets, run.output_names, config.input_size,
                    config.batch_size, pad_to_batch=True, skip=skip,
                )
            )
        return self._validation[skip]


def _summary_writers(run):
    """TensorBoard writers of the chief ({} on other workers)."""
    import tensorflow as tf

    if not run.is_chief:
        return {}
    return {
        part: tf.summary.create_file_writer(os.path.join(run.paths["logs"], part))
        for part in ("train", "validation")
    }


def _run_epoch_steps(run, train_step, streams, step, writers):
    """Training steps from `step` to the end of its epoch, with a progress bar and
    backups every `backup_every` steps. Returns (step, the epoch's mean losses)."""
    import keras
    import tensorflow as tf

    config, per_epoch = run.config, run.steps_per_epoch
    epoch = step // per_epoch
    if step % per_epoch == 0:
        run.epoch_sums.assign(tf.zeros_like(run.epoch_sums))
    run.say(f"Epoch {epoch + 1}/{config.epochs}")
    progbar = keras.utils.Progbar(
        per_epoch, verbose=config.verbose if run.is_chief else 0, stateful_metrics=run.loss_names
    )
    while True:
        try:
            values = train_step(streams.train_iter).numpy()
        except tf.errors.OpError as error:  # an unreadable sample: stop or skip it
            run.guard.train_error(error, step, per_epoch, run.manager.latest_checkpoint)
            streams.train_iter = streams.training_from(step)
            continue
        step += 1
        if not all(math.isfinite(v) for v in values):
            raise TrainingDiverged(
                f"the training loss became {values[0]} at epoch {epoch + 1}, step "
                f"{step - epoch * per_epoch}; stopped without saving. The last good "
                f"backup stays in {run.backup_dir}; lower --learning-rate or check the data."
            )
        sums = run.epoch_sums.numpy()
        sums[:-1] += values
        sums[-1] += 1
        run.epoch_sums.assign(sums)
        run.global_step.assign(step)
        means = sums[:-1] / sums[-1]
        progbar.update(step - epoch * per_epoch, list(zip(run.loss_names, means)))
        if run.is_chief and step % 10 == 0:
            write_scalar(writers["train"], "batch_loss", values[0], step)
        if step % per_epoch == 0:
            return step, means
        if step % config.backup_every == 0:
            _check_weights(run.model, epoch, run.backup_dir)
            atomic_files.save_checkpoint(run.manager, step)


def _validate(run, val_step, streams, epoch, means):
    """The epoch's history row: lr, training means, validation losses and the count of
    samples skipped so far."""
    val = run.guard.validate(streams.validation, val_step, epoch, run.manager.latest_checkpoint)
    val_means = val[:-1] / max(val[-1], 1.0)
    row = {"epoch": epoch + 1, "lr": float(run.schedule(epoch * run.steps_per_epoch))}
    row.update((n, float(v)) for n, v in zip(run.loss_names, means))
    row.update(("val_" + n, float(v)) for n, v in zip(run.loss_names, val_means))
    row[bad_samples.HISTORY_COLUMN] = run.guard.history_value()
    if not all(math.isfinite(v) for v in row.values()):
        raise TrainingDiverged(
            f"a loss became NaN/inf at the end of epoch {epoch + 1} ({row}); stopped "
            f"without saving. The last good backup stays in {run.backup_dir}."
        )
    return row


def _end_epoch(run, epoch, step, row, history, writers, started):
    """History, TensorBoard, last/best models and the backup of a finished epoch."""
    _check_weights(run.model, epoch, run.backup_dir)
    history.append(row)
    record = run.val_record.numpy()
    record[epoch] = row["val_loss"]
    run.val_record.assign(record)
    if run.is_chief:
        write_history(run.paths["history"], history, run.history_columns)
        for part, prefix in (("train", ""), ("validation", "val_")):
            for n in run.loss_names:
                write_scalar(writers[part], "epoch_" + n, row[prefix + n], epoch + 1)
        write_scalar(writers["train"], "epoch_learning_rate", row["lr"], epoch + 1)
        save_model_files(run.model, run.out, "last")
        best_epoch, _, _ = best_so_far(_record_rows(run.val_record, epoch + 1))
        if best_epoch == epoch + 1:
            copy_model_files(run.out, "last", "best")
    atomic_files.save_checkpoint(run.manager, step)
    run.say(
        f"epoch {epoch + 1}: loss {row['loss']:.4f}, val_loss {row['val_loss']:.4f}, "
        f"lr {row['lr']:.1e}, {time.time() - started:.0f} s"
    )


def _check_weights(model, epoch, backup_dir):
    """TrainingDiverged if any weight is NaN/inf (checked before every save)."""
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


def _finish(run, done_epochs):
    """finished.json (chief) and the closing line; returns the run's paths."""
    config, paths = run.config, run.paths
    best_epoch, best, since = best_so_far(_record_rows(run.val_record, done_epochs))
    if run.is_chief:
        early = done_epochs < config.epochs
        content = {
            "epochs": done_epochs,
            "best_epoch": best_epoch,
            "best_val_loss": best,
            "early_stopped": early,
            "reason": (f"no lower val_loss for {since} epochs (patience {config.patience})"
                       if early else f"all {config.epochs} epochs done"),
        }
        content.update(run.guard.finished_entry())
        if run.guard.records:
            run.say(f"{len(run.guard.records)} sample(s) were skipped as unreadable "
                    f"(finished.json, {run.guard.path}).")
        write_json(paths["finished"], content)
        run.say(f"Finished after {done_epochs} epochs; best val_loss {best:.4f} at epoch "
                f"{best_epoch}. Models in {os.path.dirname(paths['finished'])}.")
    return paths
