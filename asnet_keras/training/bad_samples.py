"""Unreadable samples in a training run: found before the first step, named when met.

docs/data_integrity.md §1–3. `BadSampleGuard` is the trainer's single point of contact
with bad data:

- `verify_before_training()` runs `asnet verify-data`'s check (`--verify-data`) on every
  file the run will read. With `--on-bad-sample stop` (default) any problem stops the
  run before its first step (`verify_data.DataProblems`: each file, its reason, the
  data_prep command that repairs it); with `skip` the problem samples are skipped from
  the start.
- `train_error(error, step, …)` is called when a training step raises a TensorFlow
  error (a file that changed after the check, or `--verify-data off`). It re-reads the
  files of that step's batch with the very decoders of the input pipeline to find the
  culprit. `stop`: raises `BadSampleError` naming the file and the reason; nothing
  after the last backup was written, so the same command resumes from it once the file
  is repaired. `skip`: the sample is recorded and the caller rebuilds the stream from
  the same step with the sample replaced by a zero-weight stand-in
  (`asnet_keras.data.stand_ins`), so the plan of the stream does not change. An error
  in which no file of the batch is at fault is re-raised unchanged.
- `validate(make_dataset, val_step)` does the same for the validation pass (a skipped
  validation sample is left out of the validation set, and the pass restarts).

Skipped samples are recorded in `OUT/skipped_samples.json` (read again on resume, so a
resumed run skips exactly what the interrupted one skipped, and its stream is the one
an uninterrupted run would have read), counted in history.csv (`skipped_samples`, the
total so far at each epoch end), listed in finished.json, and named in the log.
"""

import json
import os
import re

from asnet_keras.io import atomic_files
from asnet_keras.data import file_checks
from asnet_keras.data import verification as verify_data

ON_BAD_SAMPLE = ("stop", "skip")
RECORD_FILE = "skipped_samples.json"
HISTORY_COLUMN = "skipped_samples"


class BadSampleError(RuntimeError):
    """A training or validation sample could not be read; the run stopped cleanly."""


def error_text(error):
    """The first line of a TensorFlow error without its `{{function_node …}}` prefix and
    `[Op:…]` suffix, e.g. 'jpeg::Uncompress failed. Invalid JPEG data or crop window.'"""
    text = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[\[\{\{node [^]]*\]\]", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text)
    return text.strip() or type(error).__name__


def _decode_like_the_pipeline(path, kind):
    """None if `path` decodes with the input pipeline's ops (asnet_keras.data.make_loader),
    else TensorFlow's reason."""
    import tensorflow as tf

    from asnet_keras.data.pipeline import decode_rgb

    try:
        content = tf.io.read_file(path)
        if kind == "image":
            decode_rgb(content)
        else:
            tf.io.decode_png(content, channels=1)
    except tf.errors.OpError as error:
        return error_text(error)
    return None


def find_bad_files(samples, owners):
    """The files among `samples` that the input pipeline cannot decode.

    Args:
        samples: `PreparedSample`s (stand-ins included) as the pipeline reads them.
        owners: path → (dataset, split, id) of the sample a file belongs to.
    Returns:
        [`verify_data.Problem`], one per bad file, the reason in words (the header
        check's when it finds one, else TensorFlow's).
    """
    problems, seen = [], set()
    for sample in samples:
        for kind, path in (("image", sample.image), ("mask", sample.mask),
                           ("fixmap", sample.fixmap)):
            if not path or path in seen:
                continue
            seen.add(path)
            tf_reason = _decode_like_the_pipeline(path, kind)
            if tf_reason is None:
                continue
            try:
                file_checks.inspect_file(path, kind, full=True)
                reason = f"TensorFlow cannot decode it: {tf_reason}"
            except file_checks.BadFile as error:
                reason = str(error)
            dataset, split, sample_id = owners.get(
                path, (sample.dataset, sample.split, sample.id))
            problems.append(verify_data.Problem(dataset, split, sample_id, path, reason))
    return problems


class BadSampleGuard:
    """What a run does with unreadable samples (`--on-bad-sample`, `--verify-data`).

    Args:
        config: the run's TrainConfig (data, datasets, batch_size, seed, verify_data,
            on_bad_sample, verbose).
        out: the run folder (absolute); `skipped_samples.json` is read from it.
    """

    def __init__(self, config, out):
        if config.on_bad_sample not in ON_BAD_SAMPLE:
            raise ValueError(f"--on-bad-sample {config.on_bad_sample!r}: pass one of "
                             f"{', '.join(ON_BAD_SAMPLE)}.")
        self.config = config
        self.out = out
        self.path = os.path.join(out, RECORD_FILE)
        self.records = self._load()
        self.say = print
        self.is_chief = True

    # ------------------------------------------------------------------ records

    def _load(self):
        if not os.path.isfile(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            return json.load(f).get("skipped", [])

    @property
    def keys(self):
        """frozenset of (dataset, split, id) of the samples skipped so far."""
        return frozenset((r["dataset"], r["split"], r["id"]) for r in self.records)

    def bind(self, is_chief, say):
        """Set who writes and how to log, once the distribution strategy is known."""
        self.is_chief, self.say = is_chief, say
        if self.records:
            self._save()

    def _save(self):
        if self.is_chief and os.path.isdir(self.out):
            content = {"skipped": self.records, "count": len(self.records)}
            atomic_files.atomic_write_text(self.path, json.dumps(content, indent=1) + "\n")

    def _skip(self, problems, phase, step=None, epoch=None):
        known = self.keys
        new = []
        for p in problems:
            if p.key in known:
                continue
            known |= {p.key}
            record = {"dataset": p.dataset, "split": p.split, "id": p.id, "file": p.path,
                      "reason": p.reason, "found": phase}
            if epoch is not None:
                record["epoch"] = int(epoch) + 1  # 1-based, as in history.csv
            if step is not None:
                record["step"] = int(step) + 1  # 1-based global step
            new.append(record)
        self.records += new
        for r in new:
            self.say(f"warning: skipping sample {r['dataset']}/{r['split']}/{r['id']} "
                     f"(--on-bad-sample skip): {r['file']}: {r['reason']}")
        if new:
            self.say(f"{len(self.records)} sample(s) skipped so far; listed in {self.path}, "
                     "counted in history.csv and finished.json.")
            self._save()
        return len(new)

    # ------------------------------------------------------------------ before training

    def verify_before_training(self):
        """Verify the data (`config.verify_data`); stop or skip on problems.

        Raises:
            verify_data.DataProblems: problems and `--on-bad-sample stop`.
        """
        config = self.config
        if config.verify_data == "off":
            if config.on_bad_sample == "skip":  # a missing image would stop the run
                self._skip(verify_data.missing_images(config.data, config.datasets, self.keys),
                           "missing before training")
            return None
        result = verify_data.verify(
            config.data, config.datasets, config.verify_data,
            progress=config.verbose >= 1, skip=self.keys,
        )
        print(result.summary())
        if result.problems:
            if config.on_bad_sample == "stop":
                raise verify_data.DataProblems(
                    result.problems, config.data, config.verify_data,
                    footer="Training stopped before its first step. Repair and run the same "
                    "command again (verified files are not checked again), or pass "
                    "--on-bad-sample skip to train without these samples.")
            self._skip(result.problems, "verification")
        return result

    # ------------------------------------------------------------------ during training

    def _owners(self):
        from asnet_keras.data import pipeline as data  # TensorFlow: loaded when training runs

        owners = {}
        for train, val, _ in data.training_samples(
                self.config.data, self.config.datasets, self.keys, allow_missing=True).values():
            for s in list(train) + list(val):
                for path in (s.image, s.mask, s.fixmap):
                    if path:
                        owners.setdefault(path, data.sample_key(s))
        return owners

    def train_error(self, error, step, steps_per_epoch, backup):
        """Handle a TensorFlow error of training step `step` (0-based, global).

        Returns normally after recording skipped samples (`skip`); the caller then
        rebuilds its stream from `step` with `self.keys` skipped.
        Raises:
            BadSampleError: `stop`, naming the file(s).
            the original error: no file of the batch is at fault.
        """
        from asnet_keras.data import pipeline as data  # TensorFlow: loaded when training runs

        config = self.config
        batch = data.planned_batch(config.data, config.datasets, config.batch_size, config.seed,
                                   step, self.keys)
        problems = find_bad_files(batch, self._owners())
        if not problems:
            raise error
        epoch = step // steps_per_epoch
        where = (f"epoch {epoch + 1}, step {step % steps_per_epoch + 1}/{steps_per_epoch} "
                 f"(global step {step + 1})")
        if config.on_bad_sample == "skip":
            if not self._skip(problems, f"training, {where}", step, epoch):
                raise error  # nothing new to skip: retrying would fail the same way
            return
        raise BadSampleError(self._stop_message(problems, f"training stopped at {where}",
                                                backup)) from None

    def validate(self, make_dataset, val_step, epoch, backup):
        """Sum `val_step` over the validation set, handling unreadable samples.

        Args:
            make_dataset: skip keys → distributed validation dataset (batches of
                `config.batch_size` in `data.validation_samples` order).
            val_step: the distributed validation step (returns sums).
        Returns:
            the summed `val_step` values (numpy).
        """
        import tensorflow as tf

        from asnet_keras.data import pipeline as data  # TensorFlow: loaded when training runs

        config = self.config
        while True:
            total, done = 0.0, 0
            try:
                for batch in make_dataset(self.keys):
                    total = total + val_step(batch).numpy()
                    done += 1
                return total
            except tf.errors.OpError:
                samples = data.validation_samples(config.data, config.datasets, self.keys,
                                                  allow_missing=True)
                batch = samples[done * config.batch_size:(done + 1) * config.batch_size]
                problems = find_bad_files(batch, self._owners())
                if not problems:
                    raise
                where = f"validation after epoch {epoch + 1}"
                if config.on_bad_sample == "skip":
                    if not self._skip(problems, where, None, epoch):
                        raise
                    continue
                raise BadSampleError(self._stop_message(
                    problems, f"training stopped during the {where}", backup)) from None

    def _stop_message(self, problems, where, backup):
        lines = [f"{where}: {len(problems)} file(s) cannot be read:"]
        commands = {}
        for p in problems:
            lines.append(f"  {p.path} ({p.dataset}/{p.split}/{p.id}): {p.reason}")
            commands.setdefault(p.dataset, verify_data.repair_command(self.config.data, p.dataset))
        for dataset, command in commands.items():
            lines.append(f"Repair {dataset}: {command}")
        if backup:
            lines.append(f"Nothing after the last backup was written; it is intact ({backup}). "
                         "Run the same command again once the file is repaired: it resumes "
                         "from that backup.")
        else:
            lines.append("No backup was written yet; the same command starts the run again "
                         "once the file is repaired.")
        lines.append("Or add --on-bad-sample skip to train without unreadable samples "
                     "(docs/data_integrity.md §3).")
        return "\n".join(lines)

    # ------------------------------------------------------------------ reporting

    def history_value(self):
        """The history.csv `skipped_samples` value: samples skipped so far."""
        return len(self.records)

    def finished_entry(self):
        """What finished.json says about skipped samples."""
        return {"skipped_samples": list(self.records),
                "skipped_sample_count": len(self.records)}
