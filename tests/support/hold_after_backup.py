"""Hold a training process still once it has committed the backup of one step, so that a
test's SIGKILL lands at a known point of the run (the kill -9 tests in
`tests/training/test_train.py`, `test_resume.py` and
`tests/reproduction/test_reproduce_pipeline.py`).

Polling for the backup file from the test process is a race: on a loaded 2-core machine
the test can be starved for the seconds the run needs to finish its epoch, and the kill
then lands after the epoch's history row (CI saw exactly that). With

    ASNET_TEST_HOLD_AFTER_BACKUP="<step>:<marker path>"

in its environment, a process that runs `install()` waits forever right after
`atomic_files.save_checkpoint(manager, <step>)` has returned (files and the `checkpoint`
state file written), having first created `<marker path>`. It changes no value; the
test waits for the marker and sends SIGKILL.

    python -m tests.support.hold_after_backup train --data ... --out ...   (= asnet train ...)
    python -m tests.support.hold_after_backup reproduce --raw ... --out ...
"""

import os
import sys
import time

HOLD = "ASNET_TEST_HOLD_AFTER_BACKUP"


def install():
    """Wrap `atomic_files.save_checkpoint` as the environment asks (no-op without it)."""
    spec = os.environ.get(HOLD)
    if not spec:
        return
    step, marker = spec.split(":", 1)
    step = int(step)
    from asnet_keras.io import atomic_files

    original = atomic_files.save_checkpoint

    def save_checkpoint(manager, checkpoint_number):
        prefix = original(manager, checkpoint_number)
        if int(checkpoint_number) == step:
            with open(marker, "w") as f:
                f.write(prefix)
            while True:  # until the test's SIGKILL
                time.sleep(60)
        return prefix

    atomic_files.save_checkpoint = save_checkpoint


def main():
    install()
    from asnet_keras.commands import main as asnet

    sys.exit(asnet(sys.argv[1:]))


if __name__ == "__main__":
    main()
