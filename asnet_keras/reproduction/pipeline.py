"""From the downloaded datasets (or the synthetic set) to the paper's tables, resumably.

docs/reproduce.md. `reproduce(source, out)` runs these stages in order, each skipped when
the state file says it completed with the same inputs and its outputs are still there
(`asnet_keras.reproduction.stages`):

    prepare DATASET   one per dataset of the source (`asnet prepare`)
    verify            the files training reads (`asnet verify-data`)
    estimate          a few training steps timed here; the estimated time printed
    train             the paper's schedule (`asnet train`; resumes from its backup)
    evaluate          the test sets (`asnet evaluate --save-maps`)
    baseline          the centre-bias maps, scored through `--pred-dir`
    notebooks         Tables 2–4 and Figures 5–6 executed (`asnet notebooks`)

and then writes the report (`asnet_keras.reproduction.report`). The output folder:

    OUT/state.json            each stage's status, inputs, outputs and seconds
    OUT/data/                 the prepared datasets (archives extracted in data/.extract/)
    OUT/run/                  the training run folder (asnet_keras.training.run_folder)
    OUT/eval/asnet/           evaluation: <dataset>/results.json, results.md, maps/
    OUT/baseline/             the centre-bias maps; OUT/eval/centre-bias/ their scores
    OUT/notebooks/            the executed notebooks and figures/
    OUT/report/               README.md, report.json, pr_curves.png, qualitative.png

`asnet reproduce` runs it on a `RawSource`, `asnet demo` on a `SyntheticSource` with small
settings: one pipeline.
"""

import dataclasses
import json
import os

from asnet_keras import reporting
from asnet_keras.data.file_checks import file_stat
from asnet_keras.data.layout import read_ids
from asnet_keras.data.verification import DataProblems, verify
from asnet_keras.evaluation.api import evaluate_model, evaluate_pred_dir
from asnet_keras.inference.loading import read_run_config, resolve_model_path
from asnet_keras.names import FINAL_OUTPUT, LIST_FILE, META_FILE
from asnet_keras.parameters import check_bool, check_int
from asnet_keras.reporting.notebooks import NOTEBOOK_DIR, execute_all, unavailable
from asnet_keras.reporting.results import RESULTS_FILE
from asnet_keras.reproduction import estimate as estimating
from asnet_keras.reproduction.baseline import write_centre_bias
from asnet_keras.reproduction.report import (
    baseline_comparison,
    paper_tables,
    write_figures,
    write_report,
)
from asnet_keras.reproduction.sources import PreparationFailed
from asnet_keras.reproduction.stages import (
    Stage,
    State,
    content_fingerprint,
    run_stages,
)
from asnet_keras.training import run_lock
from asnet_keras.training.bad_samples import BadSampleError
from asnet_keras.training.config import TrainConfig, TrainingDiverged
from asnet_keras.training.loop import train
from asnet_keras.training.run_folder import RESUMABLE_CHANGES, paths_of

# The notebooks a reproduction fills: Tables 2–4, Figures 5–6 (Table 5 needs the ablation).
NOTEBOOKS = ("table2_fp_mit1003", "table3_fp_pascal_s", "table4_sod", "fig5_pr_curves",
             "fig6_qualitative")
TEST_SPLIT = "test"
LOCK_NAME = "reproduce.lock"
FOLDERS = {"data": "data", "run": "run", "eval": os.path.join("eval", "asnet"),
           "baseline_maps": "baseline", "baseline_eval": os.path.join("eval", "centre-bias"),
           "notebooks": "notebooks", "report": "report"}
# TrainConfig fields the pipeline sets itself.
_OWN_FIELDS = ("data", "out", "datasets")
_TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


class ReproductionFailed(RuntimeError):
    """The pipeline ran to its report, but some of its work failed (a notebook)."""


# What means "the work failed" (exit 1) rather than "what was passed cannot work" (2):
# a dataset not prepared, unreadable data, training diverged or an unreadable sample, the
# folder in use, a notebook failed.
FAILURES = (PreparationFailed, DataProblems, TrainingDiverged, BadSampleError,
            run_lock.RunLocked, ReproductionFailed)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How a reproduction runs, besides its data. Every default is the paper's.

    Attributes:
        train: `TrainConfig` fields other than data, out and datasets ({}: the paper's
            schedule, §3.3).
        eval_batch_size: images per forward pass in evaluation.
        n_splits: shuffled-AUC splits (MIT benchmark: 100).
        timing_steps: training steps timed for the estimate (after one warm-up step).
        n_examples: images per test set in the report's qualitative figure.
        notebooks: the notebooks executed (a subset of `NOTEBOOKS`; () for none).
        progress: progress bars and the trainer's per-step line.
        title, note, initialisation: the report's title, a line shown first (the demo's
            quick mode), and the sentence on how VGG16 starts ("": said from
            `backbone_weights`).
        tag: the prefix of the progress lines ("[reproduce 3/9] …").
    """

    train: dict = dataclasses.field(default_factory=dict)
    eval_batch_size: int = 8
    n_splits: int = 100
    timing_steps: int = 3
    n_examples: int = 6
    notebooks: tuple = NOTEBOOKS
    progress: bool = True
    title: str = "ASNet reproduction"
    note: str = ""
    initialisation: str = ""
    tag: str = "reproduce"

    def __post_init__(self):
        unknown = sorted(set(self.train) - set(_TRAIN_FIELDS))
        own = sorted(set(self.train) & set(_OWN_FIELDS))
        if unknown or own:
            raise ValueError(
                f"Settings.train: {', '.join(unknown + own)} "
                + ("are not TrainConfig fields" if unknown else "are set by the pipeline")
                + f"; pass some of {', '.join(f for f in _TRAIN_FIELDS if f not in _OWN_FIELDS)}.")
        check_int("eval_batch_size", self.eval_batch_size, 1, 4096, "--eval-batch-size")
        check_int("n_splits", self.n_splits, 1, 100_000, "--n-splits")
        check_int("timing_steps", self.timing_steps, 1, 1000, "--timing-steps")
        check_int("n_examples", self.n_examples, 0, 100)
        check_bool("progress", self.progress)
        bad = [n for n in self.notebooks if n not in NOTEBOOKS]
        if bad:
            raise ValueError(f"notebooks {', '.join(bad)}: pass some of {', '.join(NOTEBOOKS)}")


def describe_backbone(value):
    """The report's sentence on how VGG16 starts, from `--backbone-weights`."""
    if value == "imagenet":
        return "VGG16 initialised from ImageNet, as in the paper."
    if value in (None, "", "none", "None"):
        return "VGG16 trained from scratch (--backbone-weights none), unlike the paper."
    return f"VGG16 initialised from {value}."


class Reproduction:
    """One output folder's pipeline: its paths, its `TrainConfig` and its stages.

    Args:
        source: a `RawSource` or `SyntheticSource` (`asnet_keras.reproduction.sources`).
        out: the output folder.
        settings: `Settings`.
        log: where progress lines go.
    Raises:
        ValueError (ParameterError): a training setting `TrainConfig` refuses, before
            any work.
    """

    def __init__(self, source, out, settings=None, log=print):
        self.source, self.settings, self.log = source, settings or Settings(), log
        self.out = os.path.abspath(os.fspath(out))
        self.paths = {key: os.path.join(self.out, folder) for key, folder in FOLDERS.items()}
        self.config = TrainConfig(data=self.paths["data"], out=self.paths["run"],
                                  datasets=source.training_datasets,
                                  **{"verbose": int(self.settings.progress),
                                     **self.settings.train})
        self.state = None
        self.estimate = None


    def prepared(self, datasets):
        """The content fingerprint of the datasets' meta.json (checksums of every file)."""
        return content_fingerprint(
            {d: os.path.join(self.paths["data"], d, META_FILE) for d in datasets})

    def test_datasets(self):
        """The source's test sets that were prepared with a test split."""
        return [d for d in self.source.test_datasets
                if os.path.isfile(os.path.join(self.paths["data"], d, TEST_SPLIT, LIST_FILE))]

    def _results(self, key, datasets):
        return {d: os.path.join(self.paths[key], d, RESULTS_FILE) for d in datasets}

    def _all_results(self, key):
        return all(os.path.isfile(p) for p in self._results(key, self.test_datasets()).values())

    def _n_test(self):
        return {d: len(read_ids(self.paths["data"], d, TEST_SPLIT)) for d in self.test_datasets()}

    def _say(self, *lines):
        for line in lines:
            self.log(line)


    def stages(self):
        """Every stage, in order (`Stage`s; the source's preparation first)."""
        config, data = self.config, self.paths["data"]
        training = config.datasets
        run = paths_of(self.paths["run"])
        return [
            *self.source.preparation_stages(data),
            Stage("verify", f"the files training reads ({config.verify_data} check)",
                  inputs=lambda: {"data": self.prepared(training), "mode": config.verify_data},
                  run=self._verify, complete=lambda entry: True),
            Stage("estimate", f"time {self.settings.timing_steps} training steps here and "
                  "estimate the whole run",
                  inputs=lambda: {"config": self._train_key(),
                                  "data": self.prepared(training + tuple(self.test_datasets())),
                                  "calls": self.settings.timing_steps,
                                  "notebooks": list(self.settings.notebooks)},
                  run=self._estimate, complete=lambda entry: True, on_skip=self._estimated),
            Stage("train", f"{config.epochs} epochs into {self.paths['run']} (asnet train; "
                  "resumes from its last backup)",
                  inputs=lambda: {"config": self._train_key(), "data": self.prepared(training)},
                  run=self._train, complete=lambda entry: os.path.isfile(run["finished"]),
                  redo_on_change=False,
                  fresh_start=f"delete {self.paths['run']} to train again from the start, or "
                  "pass another --out",
                  work_on_disk=lambda: os.path.isfile(run["config"])),
            Stage("evaluate", "ASNet on the test sets (asnet evaluate --save-maps)",
                  inputs=lambda: {"model": file_stat(resolve_model_path(self.paths["run"])),
                                  "data": self.prepared(self.test_datasets()),
                                  "batch_size": self.settings.eval_batch_size,
                                  "n_splits": self.settings.n_splits},
                  run=self._evaluate, complete=lambda entry: self._all_results("eval")),
            Stage("baseline", "the centre-bias maps of the test sets, scored (--pred-dir)",
                  inputs=lambda: {"data": self.prepared(self.test_datasets()),
                                  "n_splits": self.settings.n_splits},
                  run=self._baseline,
                  complete=lambda entry: self._all_results("baseline_eval")),
            Stage("notebooks", f"{len(self.settings.notebooks)} notebooks executed "
                  f"into {self.paths['notebooks']}",
                  inputs=lambda: {
                      "results": content_fingerprint(self._results("eval", self.test_datasets())),
                      "notebooks": content_fingerprint(
                          {n: NOTEBOOK_DIR / f"{n}.ipynb" for n in self.settings.notebooks})},
                  run=self._notebooks, complete=self._notebooks_complete),
        ]

    def _train_key(self):
        """The config.json content that decides what is trained (not how it reports)."""
        return {k: v for k, v in self.config.to_json().items() if k not in RESUMABLE_CHANGES}

    def _verify(self):
        config = self.config
        result = verify(config.data, config.datasets, config.verify_data,
                        progress=self.settings.progress)
        self.log(result.summary())
        if result.problems:
            raise DataProblems(result.problems, config.data, config.verify_data)
        return {"samples": result.checked + result.cached, "files": result.files}

    def _estimate(self):
        n_test = sum(self._n_test().values())
        self.estimate = estimating.measure(self.config, n_test, len(self.settings.notebooks),
                                           self.settings.timing_steps)
        self._say(*self.estimate.lines())
        return {"estimate": self.estimate.to_json()}

    def _estimated(self, entry):
        self.estimate = estimating.Estimate.from_json(entry["outputs"]["estimate"])
        self._say(f"The estimate made on {entry.get('completed')}:", *self.estimate.lines())

    def _train(self):
        train(self.config)
        with open(paths_of(self.paths["run"])["finished"], encoding="utf-8") as f:
            return json.load(f)

    def _evaluate(self):
        import keras  # heavy: loaded by the stage that runs a model

        keras.backend.clear_session()  # the trained model of this process, if any
        tests = self.test_datasets()
        if tests:
            evaluate_model(self.paths["run"], self.paths["data"], tests, self.paths["eval"],
                           batch_size=self.settings.eval_batch_size, save_maps=True,
                           n_splits=self.settings.n_splits, name="ASNet",
                           progress=self.settings.progress)
        return {"datasets": tests}

    def _baseline(self):
        tests = self.test_datasets()
        if tests:
            write_centre_bias(self.paths["data"], tests, self.paths["baseline_maps"], TEST_SPLIT)
            evaluate_pred_dir(self.paths["baseline_maps"], self.paths["data"], tests,
                              self.paths["baseline_eval"], n_splits=self.settings.n_splits,
                              name="Centre bias", progress=self.settings.progress)
        return {"datasets": tests}

    def _dataset_spec(self):
        mapping = self.source.dataset_map or {}
        return ",".join(f"{paper}={ours}" for paper, ours in mapping.items()) or None

    def _notebooks(self):
        names = list(self.settings.notebooks)
        reason = unavailable() if names else "no notebook asked for"
        if reason:
            self.log(f"notebooks not executed: {reason}")
            return {"not_run": reason, "failed": [], "executed": []}
        folder = self.paths["notebooks"]
        outcome = execute_all(folder, names, results=self.paths["eval"],
                              data=self.paths["data"], datasets=self._dataset_spec(),
                              figures=os.path.join(folder, "figures"))
        return {"not_run": None, "failed": [n for n, error in outcome.items() if error],
                "executed": [n for n, error in outcome.items() if not error]}

    def _notebooks_complete(self, entry):
        outputs = entry.get("outputs") or {}
        return (outputs.get("not_run") is None and not outputs.get("failed")
                and all(os.path.isfile(os.path.join(self.paths["notebooks"], f"{n}.ipynb"))
                        for n in self.settings.notebooks))


    def _notebooks_text(self, entry):
        outputs = (entry or {}).get("outputs") or {}
        if outputs.get("not_run"):
            return f"Not executed: {outputs['not_run']}."
        lines = [f"- `../notebooks/{n}.ipynb`: executed" for n in outputs.get("executed", [])]
        lines += [f"- `{n}`: **failed** (the error is in `../notebooks/{n}.ipynb`)"
                  for n in outputs.get("failed", [])]
        return "\n".join(lines) or "None executed."

    def write_report(self, did):
        """Write OUT/report from what the stages wrote; returns report.json's content."""
        tests = self.test_datasets()
        mapping = self.source.dataset_map
        ours = reporting.EvalResults(self.paths["eval"], mapping)
        own = reporting.EvalResults(self.paths["eval"])  # our dataset names
        baseline = reporting.EvalResults(self.paths["baseline_eval"])
        folder = self.paths["report"]
        os.makedirs(folder, exist_ok=True)
        run = paths_of(self.paths["run"])
        finished = None
        if os.path.isfile(run["finished"]):
            with open(run["finished"], encoding="utf-8") as f:
                finished = json.load(f).get("reason")
        steps = read_run_config(self.paths["run"]).get("steps_per_epoch_resolved")
        notebooks = self.state.get("notebooks")
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        facts = {
            "title": self.settings.title, "note": self.settings.note,
            "source": self.source.label, "train_config": self.config.to_json(),
            "steps_per_epoch": steps, "finished": finished,
            "test_datasets": tests, "n_images": self._n_test(),
            "missing": dict(self.source.missing),
            "dataset_map": self._dataset_spec(),
            "initialisation": (self.settings.initialisation
                               or describe_backbone(self.config.backbone_weights)),
            "comparison": baseline_comparison(own, baseline, tests),
            "stages": {name: {k: self.state.get(name).get(k)
                              for k in ("status", "seconds", "completed")} for name in did},
            "figures": write_figures(folder, own, baseline, self.paths["data"],
                                     [d for d in tests
                                      if own.entry(d, "salient_object", FINAL_OUTPUT)],
                                     self.settings.n_examples),
            "notebooks": {**((notebooks or {}).get("outputs") or {}),
                          "text": self._notebooks_text(notebooks)},
            "results": {"asnet": self.paths["eval"], "centre_bias": self.paths["baseline_eval"]},
            "load_average": list(load) if load else None, "cpu_count": os.cpu_count(),
        }
        return write_report(folder, facts, paper_tables(ours, self.source.missing),
                            self.estimate, did)

    def run(self, stop_after=None):
        """Run the stages (up to `stop_after`, a stage name) and write the report.

        Returns:
            report.json's content, or None when stopped before the report.
        Raises:
            ReproductionFailed: a notebook failed (after the report is written).
            Whatever a stage raises (its stage is then not complete; the same call
            resumes it).
        """
        if os.path.exists(self.out) and not os.path.isdir(self.out):
            raise NotADirectoryError(f"--out {self.out} is a file: pass a folder")
        os.makedirs(self.out, exist_ok=True)
        with run_lock.run_lock(self.out, LOCK_NAME):
            self.state = State(self.out)
            did = run_stages(self.stages(), self.state, self.log, self.settings.tag,
                             stop_after)
            if stop_after is not None:
                return None
            report = self.write_report(did)
        self.log(f"[{self.settings.tag}] report: {os.path.join(self.paths['report'], 'README.md')}")
        failed = report["notebooks"].get("failed")
        if failed:
            raise ReproductionFailed(f"{len(failed)} notebook(s) failed: {', '.join(failed)} "
                                     f"(see {self.paths['notebooks']}); the report is written")
        return report


def reproduce(source, out, settings=None, stop_after=None, log=print):
    """Run the whole pipeline of `source` into `out` (see the module docstring).

    Args:
        source: `RawSource` (the downloads) or `SyntheticSource`.
        out: the output folder; the same call resumes it.
        settings: `Settings` (default: the paper's).
        stop_after: stop after this stage (e.g. "estimate"); no report then.
        log: where progress lines go.
    Returns:
        report.json's content (None with `stop_after`).
    """
    return Reproduction(source, out, settings, log).run(stop_after)
