"""The `asnet` command: one front door with a subcommand per job (docs/commands.md).

    asnet COMMAND [OPTIONS]              the console script `pip install` writes
    python -m asnet_keras COMMAND ...    the same, without installing the package
    asnet --help                         every command with one line on what it does

`COMMANDS` names each subcommand's module and says in one line what it does. `main`
imports only the module of the command asked for, so `asnet --help` lists every command
without loading TensorFlow. Every command module has `build_parser()` (prog
"asnet COMMAND") and `main(argv) -> int`, and its `main` is `run_command`: the one place
where an outcome becomes an exit status and an `error: …` line (docs/commands.md §2):

    0  success
    1  the work failed, or some inputs failed (each named on stderr)
    2  a usage error: a bad flag or value, a path that does not exist (argparse's own)

This module stays light (standard library only): it is what `asnet --help` runs.
"""

import argparse
import importlib
import importlib.util
import math
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

from asnet_keras import __version__
from asnet_keras.extras import MissingExtra

OK, FAILED, USAGE = 0, 1, 2
INTERRUPTED = 130  # the shell's status for a process stopped by Ctrl-C (128 + SIGINT)


@dataclass(frozen=True)
class Command:
    """A subcommand: the module holding its `build_parser` and `main`, one line of help,
    and whether its work loads TensorFlow and Keras (`main` imports them quietly first)."""

    module: str
    summary: str
    tensorflow: bool = True


# In the order of the work: data, training, results, use, the paper's tables.
COMMANDS = {
    "prepare": Command("asnet_keras.commands.prepare",
                       "convert downloaded datasets (or write synthetic ones) into the "
                       "prepared layout", tensorflow=False),
    "verify-data": Command("asnet_keras.commands.verify_data",
                           "check the prepared data a training run reads, without training",
                           tensorflow=False),
    "train": Command("asnet_keras.commands.train",
                     "train ASNet as in the paper; run it again to resume"),
    "evaluate": Command("asnet_keras.commands.evaluate",
                        "score trained weights, or any method's maps, on the test sets"),
    "predict": Command("asnet_keras.commands.predict",
                       "saliency and fixation maps of your images, at their size"),
    "export": Command("asnet_keras.commands.export",
                      "trained weights as plain Keras, SavedModel, ONNX, OpenVINO or LiteRT"),
    "serve": Command("asnet_keras.commands.serve",
                     "an HTTP service for trained weights, with a page to try it"),
    "convert-released": Command("asnet_keras.commands.convert_released",
                                "the authors' released ASNet.h5 as a Keras 3 model"),
    "reproduce": Command("asnet_keras.commands.reproduce",
                         "the paper from the downloaded datasets to Tables 2-4, resumable, "
                         "with a time estimate"),
    "demo": Command("asnet_keras.commands.demo",
                    "the whole job on built-in synthetic data: no download, minutes"),
    "ablation": Command("asnet_keras.commands.ablation",
                        "train and evaluate every Table 5 variant; run it again to resume"),
    "notebooks": Command("asnet_keras.commands.notebooks",
                         "execute the paper-table notebooks against results folders",
                         tensorflow=False),
}


class UsageError(ValueError):
    """What was passed cannot work (exit 2). Any `ValueError` or `FileNotFoundError` a
    command's work raises counts as one: the package's checks raise those, with a message
    that says what to pass instead; so does `MissingExtra`, which names the extra to
    install."""


class CommandFailed(Exception):
    """The work failed, or some inputs did (exit 1); the message says which."""


USAGE_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, MissingExtra)
FAILURES = (CommandFailed, OSError)  # OSError: a full disk, a file that cannot be written


def exit_status(code):
    """`SystemExit.code` (None, an int, or a message argparse already printed) as a status."""
    if code is None:
        return OK
    return code if isinstance(code, int) else FAILED


def error(message, status):
    """Print `error: message` on stderr (after anything already on stdout); return status."""
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr, flush=True)
    return status


def run_command(argv, build_parser, run, failures=()):
    """The `main(argv)` of every command: parse, run, and turn the outcome into a status.

    Args:
        argv: the command's arguments (None: `sys.argv[1:]`).
        build_parser: the command's argparse parser factory.
        run: `run(args) -> int | None`, the work (None means 0). It returns 1 itself when
            it named failed inputs on stderr and went on with the others.
        failures: exception classes that mean "the work failed" (exit 1) although they
            are `ValueError`s (bad data found in the inputs, say).

    Returns:
        0 success; 1 for `failures`, `CommandFailed` and other `OSError`s; 2 for argparse's
        own usage errors, `UsageError`, `ValueError`, `FileNotFoundError` and
        `MissingExtra` (an optional package this command needs is not installed); 130 after
        Ctrl-C. Each error is one `error: …` line on stderr, without a traceback. Any
        other exception is a bug: it propagates, with its traceback.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error argparse has printed (2)
        return exit_status(stop.code)
    try:
        status = run(args)
    except tuple(failures) as failure:
        return error(failure, FAILED)
    except USAGE_ERRORS as usage:
        return error(usage, USAGE)
    except FAILURES as failure:
        return error(failure, FAILED)
    except KeyboardInterrupt:
        return error("interrupted (Ctrl-C)", INTERRUPTED)
    return OK if status is None else status


def number(kind, low, high=None, *, above=False, noun="a number"):
    """An argparse type: a finite `kind(text)` that is at least `low` (more than `low`
    when `above`) and at most `high`; anything else is refused with a message that says
    why (argparse turns it into a usage error, exit 2)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if above and value <= low:
            raise argparse.ArgumentTypeError(f"{text} must be greater than {low}")
        if high is None and value < low:
            raise argparse.ArgumentTypeError(f"{text} must be {low:g} or more")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not {noun} ({low}-{high})")
        return value
    return parse


def positive(kind):
    """An argparse type: a `kind` (int or float) greater than 0."""
    return number(kind, 0, above=True)


# TensorFlow's C++ (absl) log lines: severity letter and date, time, thread, file:line], e.g.
# "I0000 00:00:1796557525.879262    8995 port.cc:153] oneDNN custom operations are on. …"
_TF_LOG_LINE = re.compile(rb"^(?P<severity>[IWE])\d{4} [\d:.]+ +\d+ [^\]\s]+:\d+\] ")
_ABSL_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2}  # what TF_CPP_MIN_LOG_LEVEL compares against


def _hidden(line, level):
    """Whether TF_CPP_MIN_LOG_LEVEL=`level` asks to hide this stderr line."""
    if line.startswith(_ABSL_NOTICE):
        return level >= 1
    match = _TF_LOG_LINE.match(line)
    return bool(match) and _SEVERITY[match["severity"]] < level


@contextmanager
def tensorflow_quiet():
    """Set TF_CPP_MIN_LOG_LEVEL=2 (a value the user set is kept) and, while the block
    imports TensorFlow, hold back the C++ log lines that level hides.

    TensorFlow 2.21 writes some lines before its logging reads the variable (the oneDNN
    notice, twice, with absl's "before InitializeLog" warning): the block's output to
    file descriptor 2 goes to a temporary file, and its other lines are written to
    stderr when the block ends (docs/commands.md §3).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    setting = os.environ["TF_CPP_MIN_LOG_LEVEL"].strip()
    level = int(setting) if setting.isdigit() else 0
    saved = None
    if level >= 1:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no file descriptor 2 to redirect
            pass
    if saved is None:
        yield
        return
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                held.seek(0)
                kept = b"".join(line for line in held if not _hidden(line, level))
                if kept:
                    sys.stderr.write(kept.decode("utf-8", "replace"))
                    sys.stderr.flush()
    finally:
        os.close(saved)


def build_parser():
    """The parser of `asnet` itself: its help lists every command of `COMMANDS`."""
    width = max(map(len, COMMANDS)) + 2
    table = "\n".join(f"  {name:<{width}}{command.summary}" for name, command in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="asnet",
        usage="asnet COMMAND [OPTIONS]   (asnet COMMAND --help: the command's options)",
        description=(
            "ASNet (Salient Object Detection Driven by Fixation Prediction, CVPR 2018) in\n"
            "Keras 3: prepare the datasets, train, evaluate, predict, export and serve.\n"
            "`python -m asnet_keras COMMAND` is the same as `asnet COMMAND`."
        ),
        epilog=(
            f"commands:\n{table}\n\n"
            "Start with `asnet demo --quick` (a minute, nothing to download). Every\n"
            "command exits with 0 on success, 1 when the work or some inputs failed, and\n"
            "2 on a usage error."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", choices=list(COMMANDS), metavar="COMMAND",
                        help="one of the commands below")
    parser.add_argument("--version", action="version", version=f"asnet-keras {__version__}")
    return parser


def main(argv=None):
    """The `asnet` console script: run `argv[0]`'s command with the rest of `argv`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    name, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else (None, argv)
    if name not in COMMANDS:
        parser = build_parser()
        try:
            args = parser.parse_args(argv if name is None else [name])
        except SystemExit as stop:  # --help, --version, or an unknown command / flag
            return exit_status(stop.code)
        if args.command is None:
            parser.print_help(sys.stderr)
            return error("name a command, e.g. `asnet demo --quick`", USAGE)
        name, rest = args.command, []
    command = COMMANDS[name]
    with tensorflow_quiet():  # some command modules import TensorFlow themselves
        module = importlib.import_module(command.module)
    try:  # --help and usage errors are answered before seconds of loading TensorFlow
        module.build_parser().parse_args(rest)
    except SystemExit as stop:
        return exit_status(stop.code)
    if command.tensorflow:
        with tensorflow_quiet():
            _load_frameworks()
    try:
        return exit_status(module.main(rest))
    except SystemExit as stop:  # a command main that lets argparse exit
        return exit_status(stop.code)


def _load_frameworks():
    """Import TensorFlow (when installed: the input pipeline and the resize use it under
    every backend) and Keras, which the package otherwise imports on first use."""
    for name in ("tensorflow", "keras"):  # heavy: imported here, where their logs are held
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
