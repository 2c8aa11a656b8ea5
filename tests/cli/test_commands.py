"""The `asnet` command (docs/commands.md): one registry, the same help, exit statuses and
`error:` line for every subcommand, `--weights` wherever trained weights are read, and
TensorFlow's start-up chatter held back."""

import argparse
import errno
import importlib
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from asnet_keras import commands

REPO = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/asnet-test"  # a path that does not exist on any machine


def _present(name):
    """Skip a command whose module is not in this checkout (its module comes separately)."""
    if importlib.util.find_spec(commands.COMMANDS[name].module) is None:
        pytest.skip(f"{commands.COMMANDS[name].module} is not in this checkout")


def test_help_lists_every_command_without_loading_tensorflow():
    code = ("import sys; from asnet_keras.commands import main; status = main(['--help']); "
            "heavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]; "
            "print('HEAVY', heavy); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    listed = result.stdout[result.stdout.index("commands:"):]
    for name, command in commands.COMMANDS.items():
        assert f"  {name} " in listed and command.summary in listed, name


assert len(commands.COMMANDS) == 12


@pytest.mark.parametrize("name", list(commands.COMMANDS))
def test_every_commands_help_loads_no_framework(name):
    """`asnet NAME --help` answers before TensorFlow, Keras or JAX is imported."""
    _present(name)
    code = ("import contextlib, io, sys; from asnet_keras.commands import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main([{name!r}, '--help'])\n"
            "print('HEAVY', [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]); "
            "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout


@pytest.mark.parametrize("name", list(commands.COMMANDS))
def test_every_command_has_the_same_shape_and_help(name, capsys):
    _present(name)
    module = importlib.import_module(commands.COMMANDS[name].module)
    assert module.build_parser().prog == f"asnet {name}"
    assert commands.main([name, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: asnet {name}")


# Per command: a bad flag, and a path that does not exist (or a bad value, for the
# commands that read no input path).
USAGE_ERRORS = {
    "prepare": [["--nope"], ["pascal-s", "--src", MISSING, "--dst", "{tmp}/data"]],
    "verify-data": [["--nope"], ["--data", MISSING, "--datasets", "ecssd"]],
    "train": [["--nope"], ["--data", MISSING, "--out", "{tmp}/run"]],
    "evaluate": [["--nope"], ["--weights", MISSING, "--data", MISSING, "--out", "{tmp}/e"]],
    "predict": [["--nope"], [MISSING + ".jpg", "--weights", MISSING, "--out", "{tmp}/o"]],
    "export": [["--nope"], ["--weights", MISSING, "--out", "{tmp}/x.keras"]],
    "serve": [["--nope"], ["--weights", MISSING]],
    "convert-released": [["--nope"], ["--weights", MISSING, "--out", "{tmp}/r.keras"]],
    "reproduce": [["--nope"], ["--raw", MISSING, "--out", "{tmp}/r"]],
    "demo": [["--nope"], ["--quick", "--out", "{tmp}/a_file/demo"]],
    "ablation": [["--nope"], ["--data", MISSING, "--out", "{tmp}/abl"]],
    "notebooks": [["--nope"], ["--out", "{tmp}/nb", "--notebooks", "table9"]],
}


USAGE_CASES = [(n, i) for n in USAGE_ERRORS for i in (0, 1)]
assert len(USAGE_CASES) == 2 * 12


def test_the_usage_error_table_covers_every_command():
    assert list(USAGE_ERRORS) == list(commands.COMMANDS)


@pytest.mark.parametrize("name,case", USAGE_CASES)
def test_a_usage_error_exits_2_with_one_error_line(name, case, tmp_path, capsys):
    _present(name)
    (tmp_path / "a_file").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in USAGE_ERRORS[name][case]]
    status = commands.main([name, *argv])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing written


def _parser(*arguments):
    def build():
        parser = argparse.ArgumentParser(prog="asnet test")
        for argument in arguments:
            parser.add_argument(argument)
        return parser
    return build


class BadData(ValueError):
    """A ValueError that a command declares a failure of its work."""


@pytest.mark.parametrize("outcome,status,message", [
    (lambda: None, 0, ""),
    (lambda: 1, 1, ""),  # the command named its failed inputs itself and went on
    (commands.CommandFailed("2 notebook(s) failed"), 1, "error: 2 notebook(s) failed\n"),
    (OSError(errno.ENOSPC, "No space left on device"), 1,
     "error: [Errno 28] No space left on device\n"),
    (BadData("unreadable: a.jpg"), 1, "error: unreadable: a.jpg\n"),
    (ValueError("--size 3: use at least 16"), 2, "error: --size 3: use at least 16\n"),
    (FileNotFoundError("x.keras: no such model"), 2, "error: x.keras: no such model\n"),
    (commands.UsageError("--datasets is empty"), 2, "error: --datasets is empty\n"),
    (KeyboardInterrupt(), 130, "error: interrupted (Ctrl-C)\n"),
])
def test_the_wrapper_maps_each_outcome_to_its_status(outcome, status, message, capsys):
    def run(args):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome()

    assert commands.run_command([], _parser(), run, failures=(BadData,)) == status
    assert capsys.readouterr().err == message


def test_the_wrapper_answers_argparse_and_lets_bugs_through(capsys):
    def run(args):
        return 1 // int(args.n)

    assert commands.run_command(["--nope"], _parser("--n"), run) == 2  # argparse's own
    assert "asnet test: error: unrecognized arguments: --nope" in capsys.readouterr().err
    assert commands.run_command(["--help"], _parser("--n"), run) == 0
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        commands.run_command(["--n", "0"], _parser("--n"), run)


def test_number_types_refuse_what_is_out_of_range():
    port = commands.number(int, 0, 65535, noun="a port number")
    assert port("8000") == 8000
    for text, why in (("70000", "not a port number"), ("x", "'x' is not a port number")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            port(text)
    positive = commands.positive(float)
    assert positive("0.5") == 0.5
    for text in ("0", "-1", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive(text)


def test_python_dash_m_and_the_console_script_are_one_function():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"asnet": "asnet_keras.commands:main"}
    module, function = scripts["asnet"].split(":")
    assert getattr(importlib.import_module(module), function) is commands.main
    for argv, status in ((["--help"], 0), (["prepare", "--nope"], 2), (["nope"], 2)):
        dash_m = subprocess.run([sys.executable, "-m", "asnet_keras", *argv], cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        script = subprocess.run(
            [sys.executable, "-c", "import sys; from asnet_keras.commands import main; "
             "sys.exit(main(sys.argv[1:]))", *argv],
            cwd=REPO, capture_output=True, text=True, timeout=60)
        assert dash_m.returncode == script.returncode == status, dash_m.stderr
        assert dash_m.stdout == script.stdout and dash_m.stderr == script.stderr


# What each command that reads trained weights needs besides them.
WEIGHTS = {
    "evaluate": ["--data", "D"],
    "predict": ["photo.jpg", "--out", "maps"],
    "export": ["--out", "x.keras"],
    "serve": [],
    "convert-released": [],
}


@pytest.mark.parametrize("name", list(commands.COMMANDS))
def test_trained_weights_are_taken_as_dash_dash_weights_everywhere(name):
    _present(name)
    parser = importlib.import_module(commands.COMMANDS[name].module).build_parser()
    flags = {flag for action in parser._actions for flag in action.option_strings}
    positionals = {action.dest for action in parser._actions if not action.option_strings}
    assert not positionals & {"weights", "h5", "model"}, positionals
    if name in WEIGHTS:
        assert parser.parse_args(["--weights", "W.keras", *WEIGHTS[name]]).weights == "W.keras"
    else:
        assert "--weights" not in flags


# Lines TensorFlow 2.21 writes before its logging reads TF_CPP_MIN_LOG_LEVEL.
CHATTER = (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
           b"STDERR\n"
           b"I0000 00:00:1796557525.879262    8995 port.cc:153] oneDNN custom operations are "
           b"on. You may see slightly different numerical results.\n")
WARNING = b"W0000 00:00:1796557525.9    8995 cuda_dnn.cc:8] Unable to register cuDNN factory\n"
ERROR = b"E0000 00:00:1796557525.9    8995 cuda_driver.cc:1] failed call to cuInit\n"


@pytest.mark.parametrize("level,kept", [
    ("2", ERROR + b"our own line\n"),
    ("1", WARNING + ERROR + b"our own line\n"),
    ("0", CHATTER + WARNING + ERROR + b"our own line\n"),
])
def test_tensorflow_start_up_lines_are_held_back_as_the_level_says(level, kept, monkeypatch,
                                                                   capfd):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    with commands.tensorflow_quiet():
        for line in (CHATTER, WARNING, ERROR, b"our own line\n"):
            os.write(2, line)
    assert capfd.readouterr().err == kept.decode()


def test_the_level_defaults_to_2_and_a_users_value_is_kept(monkeypatch, capfd):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    with commands.tensorflow_quiet():
        os.write(2, CHATTER)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2" and capfd.readouterr().err == ""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with commands.tensorflow_quiet():
        pass
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
