"""One command from the raw datasets to the paper's tables: `asnet reproduce`.

docs/reproduce.md. `reproduce(source, out, settings)` prepares the source's datasets,
verifies them, times a few training steps and prints the estimated time, trains with the
paper's schedule, evaluates on the test sets beside a centre-bias baseline, executes the
notebooks and writes one report with our numbers beside the paper's (Tables 2–4). Each
stage is skipped when its outputs are complete, so the same call resumes an interrupted
run. `asnet demo` is the same pipeline on the synthetic data.

- `pipeline`: `reproduce`, `Reproduction`, `Settings`, the stages' work;
- `sources`: `RawSource` (the downloads), `SyntheticSource`;
- `stages`: `Stage`, the state file, `run_stages`, the inputs' fingerprints;
- `estimate`: the time estimate from timed training steps;
- `baseline`: the centre-bias maps; `report`: OUT/report.

Layer: above evaluation, reporting and training, beside serving, below the commands.
"""

from asnet_keras.reproduction.pipeline import (  # noqa: F401
    FAILURES,
    NOTEBOOKS,
    Reproduction,
    ReproductionFailed,
    Settings,
    reproduce,
)
from asnet_keras.reproduction.sources import (  # noqa: F401
    PreparationFailed,
    RawSource,
    SyntheticSource,
)
from asnet_keras.reproduction.stages import InputsChanged  # noqa: F401
