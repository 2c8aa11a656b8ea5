"""Our results as evaluation wrote them: `EvalResults` (one evaluated model) and
`AblationResults` (one folder per Table 5 variant). Missing files read as None."""

import json
import math
import os
from pathlib import Path

from asnet_keras.evaluation.pred_dir import PRED_DIR_KEY as PRED_DIR_OUTPUT
from asnet_keras.names import FINAL_OUTPUT as PR_OUTPUT

RESULTS_FILE = "results.json"
TASKS = ("fixation", "salient_object")


def parse_dataset_map(spec):
    """``{paper dataset: our dataset folder}`` from a spec like ``"ecssd=my-ecssd,*=x"``.

    ``*`` stands for every dataset not named. An empty spec (or None) maps every dataset
    to itself. A dict is returned as a copy.
    """
    if isinstance(spec, dict):
        return dict(spec)
    mapping = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"dataset map entry {part!r}: write PAPER_DATASET=OUR_DATASET "
                             "(e.g. ecssd=ecssd-test, or *=synthetic-both for all)")
        paper, ours = (s.strip() for s in part.split("=", 1))
        mapping[paper] = ours
    return mapping


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class EvalResults:
    """The results folder of one evaluated model: ``<folder>/<dataset>/results.json``.

    Args:
        folder: what evaluation's ``--out`` was.
        datasets: optional map paper dataset → our dataset folder name (a dict or a
            :func:`parse_dataset_map` spec), for results of datasets named differently.
    """

    def __init__(self, folder, datasets=None, label="ASNet (ours)"):
        self.folder = Path(os.path.expanduser(os.fspath(folder)))
        self.mapping = parse_dataset_map(datasets)
        self.label = label
        self._cache = {}
        self.errors = {}

    def __repr__(self):
        return f"EvalResults({str(self.folder)!r})"

    @property
    def exists(self):
        return self.folder.is_dir()

    def our_dataset(self, dataset):
        return self.mapping.get(dataset, self.mapping.get("*", dataset))

    def path(self, dataset):
        return self.folder / self.our_dataset(dataset) / RESULTS_FILE

    def get(self, dataset):
        """The parsed results.json of ``dataset`` (paper name), or None if absent/unreadable."""
        if dataset not in self._cache:
            path = self.path(dataset)
            data = None
            if path.is_file():
                try:
                    with open(path, encoding="utf-8") as f:
                        data = json.load(f)
                except (OSError, ValueError) as err:
                    self.errors[dataset] = f"{path}: {err}"
            self._cache[dataset] = data
        return self._cache[dataset]

    def entry(self, dataset, task, output):
        """The metric dict of one output, e.g. ``entry("ecssd", "salient_object",
        "saliency_conv1")``; for pred-dir results (output "maps") any output name matches."""
        data = self.get(dataset)
        if not data:
            return None
        outputs = data.get(task) or {}
        if output in outputs:
            return outputs[output]
        if task == "salient_object" and output == PR_OUTPUT and PRED_DIR_OUTPUT in outputs:
            return outputs[PRED_DIR_OUTPUT]
        return None

    def value(self, dataset, task, output, key):
        entry = self.entry(dataset, task, output)
        if entry is None:
            return None
        value = entry.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def missing(self, datasets):
        """The datasets (paper names) of ``datasets`` without a readable results.json."""
        return [d for d in datasets if self.get(d) is None]

    def outputs(self, dataset, task):
        data = self.get(dataset) or {}
        return list((data.get(task) or {}).keys())


class AblationResults:
    """The ablation runner's folder: ``<folder>/<variant>/eval/<dataset>/results.json``."""

    def __init__(self, folder, datasets=None):
        self.folder = Path(os.path.expanduser(os.fspath(folder)))
        self.mapping = parse_dataset_map(datasets)
        self._variants = {}

    def __repr__(self):
        return f"AblationResults({str(self.folder)!r})"

    @property
    def exists(self):
        return self.folder.is_dir()

    def variant(self, name):
        if name not in self._variants:
            self._variants[name] = EvalResults(self.folder / name / "eval", self.mapping,
                                               label=f"{name} (ours)")
        return self._variants[name]

    def missing(self, variants, datasets):
        """The variants of ``variants`` lacking results for any of ``datasets``."""
        return [v for v in variants if self.variant(v).missing(datasets)]
