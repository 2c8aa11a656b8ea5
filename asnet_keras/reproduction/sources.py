"""Where a reproduction's data come from: the downloads under RAW, or the synthetic set.

docs/reproduce.md §1. A source gives the pipeline its preparation stages (written into
the prepared data root, docs/datasets.md §10), the datasets it trains on and tests on,
the datasets it lacks, and how the paper's dataset names map onto its own for Tables
2–4 (`asnet_keras.reporting.parse_dataset_map`).

- `RawSource`: every dataset found under RAW, one folder or archive each named after it,
  prepared by `data_prep.runner.prepare` exactly as `asnet prepare all` does (one stage
  per dataset, so an interrupted preparation redoes only the unfinished datasets). It
  trains on the paper's training sets that are there and tests on the paper's test sets
  that are there.
- `SyntheticSource`: the built-in synthetic datasets (`data_prep.synthetic`), the demo's
  data: three training sources like the paper's mix and a held-out test split.
"""

import os
from pathlib import Path

from asnet_keras.data.layout import read_meta
from asnet_keras.names import (
    META_FILE,
    PAPER_TEST_DATASETS,
    PAPER_TRAINING_DATASETS,
    SYNTHETIC_DATASETS,
    SYNTHETIC_TEST_DATASET,
)
from asnet_keras.reproduction.stages import Stage, tree_fingerprint
from data_prep.datasets import MODULES
from data_prep.report import review, summary_table
from data_prep.runner import find_raw, prepare
from data_prep.synthetic import make_synthetic


class PreparationFailed(RuntimeError):
    """A dataset could not be prepared (or was, with rejects or computed maps not allowed)."""


def _meta_written(data, datasets):
    """Whether every dataset's meta.json (written last by data_prep) is there."""
    return all(os.path.isfile(os.path.join(data, name, META_FILE)) for name in datasets)


class RawSource:
    """The paper's datasets as downloaded, found under `raw` (`data_prep.runner.find_raw`).

    Args:
        raw: the folder holding one folder or archive per dataset, named after it.
        allow_rejects, allow_computed_maps: as `asnet prepare`'s flags: accept rejected
            files, or SALICON 2017 density maps computed because maps.zip is absent.
        workers: decoding threads of data_prep (None: its default).
        quiet: no progress bars from data_prep.
    Raises:
        FileNotFoundError: `raw` is not a folder.
        ValueError: none of the paper's training datasets is under `raw`.
    """

    label = "the datasets under RAW"

    def __init__(self, raw, allow_rejects=False, allow_computed_maps=False, workers=None,
                 quiet=False):
        self.raw = os.path.abspath(os.fspath(raw))
        if not os.path.isdir(self.raw):
            what = "not a folder" if os.path.exists(self.raw) else "no such folder"
            raise FileNotFoundError(f"--raw {raw}: {what} (pass the folder holding the "
                                    "downloaded datasets, one folder or archive each)")
        self.found = find_raw(Path(self.raw))
        self.options = {"allow_rejects": bool(allow_rejects),
                        "allow_computed_maps": bool(allow_computed_maps)}
        self.workers, self.quiet = workers, quiet
        self.training_datasets = tuple(d for d in PAPER_TRAINING_DATASETS if d in self.found)
        self.test_datasets = tuple(d for d in PAPER_TEST_DATASETS if d in self.found)
        if not self.training_datasets:
            raise ValueError(
                f"--raw {raw} holds none of the paper's training datasets "
                f"({', '.join(PAPER_TRAINING_DATASETS)}); found: "
                f"{', '.join(self.found) or 'nothing'}. Put each in a folder or archive "
                "named after it:\n" + "\n".join(self._downloads(PAPER_TRAINING_DATASETS)))
        self.dataset_map = None  # our folders carry the paper's names

    @staticmethod
    def _downloads(names):
        return [f"  {name:10s} {MODULES[name].DOWNLOAD}" for name in names]

    @property
    def missing(self):
        """{paper dataset not found under RAW: where to download it}."""
        return {d: MODULES[d].DOWNLOAD for d in PAPER_TRAINING_DATASETS + PAPER_TEST_DATASETS
                if d not in self.found}

    def preparation_stages(self, data):
        """One stage per dataset found, in the order of `data_prep.datasets.MODULES`
        (the training sets first): `data_prep.runner.prepare` into `data`."""
        return [self._stage(name, self.found[name], data) for name in MODULES
                if name in self.found]

    def _stage(self, name, path, data):
        def run():
            report = prepare(name, path, Path(data), quiet=self.quiet, workers=self.workers)
            lines, failed = review([report], **self.options)
            print(summary_table([report]))
            problems = [text for problem, text in lines if problem]
            for problem, text in lines:
                if not problem:
                    print(text)
            if failed:
                raise PreparationFailed(
                    f"{name} ({path}) was not prepared completely:" + "\n".join(problems)
                    + "\nRepair the download (data_prep/README.md) and run the same command "
                    "again; datasets already prepared are not redone.")
            meta = read_meta(data, name)
            return {"splits": {split: info.get("images") if isinstance(info, dict) else None
                               for split, info in (meta.get("splits") or {}).items()},
                    "rejected": len(report.rejects)}

        return Stage(
            name=f"prepare {name}",
            summary=f"{path} -> {os.path.join(data, name)} (asnet prepare {name})",
            inputs=lambda: {"raw": tree_fingerprint(path), **self.options},
            run=run,
            complete=lambda entry: _meta_written(data, [name]),
        )


class SyntheticSource:
    """The built-in synthetic datasets (`data_prep.synthetic.make_synthetic`).

    Args:
        n: training images per source; n_test: held-out test images.
        size: the images' longer side (px); seed: the generator's seed.
    """

    label = "the built-in synthetic datasets"
    training_datasets = SYNTHETIC_DATASETS
    test_datasets = (SYNTHETIC_TEST_DATASET,)
    dataset_map = {"*": SYNTHETIC_TEST_DATASET}  # every paper table reads the synthetic test set
    missing = {}

    def __init__(self, n=40, size=128, n_test=None, seed=0):
        self.settings = {"n": int(n), "size": int(size),
                         "n_test": int(n if n_test is None else n_test), "seed": int(seed)}

    def preparation_stages(self, data):
        """One stage: the three synthetic datasets written into `data`."""
        def run():
            make_synthetic(data, **self.settings)
            return {"datasets": list(SYNTHETIC_DATASETS)}

        return [Stage(
            name="prepare synthetic",
            summary=("synthetic datasets ("
                     + ", ".join(f"{k} {v}" for k, v in self.settings.items())
                     + f") -> {data} (asnet prepare synthetic)"),
            inputs=lambda: dict(self.settings),
            run=run,
            complete=lambda entry: _meta_written(data, SYNTHETIC_DATASETS),
        )]
