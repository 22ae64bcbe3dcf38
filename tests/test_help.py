"""Help as a user reads it: on an 80-column terminal, nothing cut, every example runnable."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import SAMPLES, jvpcli_command

from jvpcli.cli.commands import cli

WIDTH = 80
COMMANDS = cli.list_commands(click.Context(cli))


def _help(*args):
    """What ``jvpcli ARGS --help`` prints on a terminal of WIDTH columns."""
    env = {**os.environ, "COLUMNS": str(WIDTH), "NO_COLOR": "1"}
    done = subprocess.run([*jvpcli_command(), *args, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_command_list_shows_whole_descriptions():
    listing = _help().split("Commands:")[1].split("\n\n")[0]
    assert "..." not in listing
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command.short_help, f"'{name}' needs a short_help: click cuts its docstring at '...'"
        assert f"  {name} " in listing and command.short_help in listing


@pytest.mark.parametrize("args", [(), *((name,) for name in COMMANDS)], ids=["jvpcli", *COMMANDS])
def test_help_fits_80_columns(args):
    wide = [line for line in _help(*args).splitlines() if len(line) > WIDTH]
    assert not wide, f"lines wider than {WIDTH} columns: {wide}"


def _examples(text):
    """The example command lines of a help epilog, continuation lines joined."""
    block = text.split("Examples", 1)[1].split("\n", 1)[1]
    return re.sub(r"\\\n\s*", "", block).strip()


@pytest.mark.parametrize("args", [(), *((name,) for name in COMMANDS)], ids=["jvpcli", *COMMANDS])
def test_help_examples_run_on_the_samples(args, tmp_path):
    text = _help(*args)
    if "Examples" not in text:
        assert args == ("cache",), f"jvpcli {' '.join(args)} --help shows no example"
        return
    script = _examples(text)
    assert "make.py" not in script and "A=A.npy" not in script
    shutil.copytree(SAMPLES, tmp_path / "samples")
    env = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{script}\n---\n{done.stderr}"
    assert Path(tmp_path, "samples").is_dir()
