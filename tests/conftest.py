import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from jvpcli.cli.commands import cli
from jvpcli.engine import stream

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")


def npy_bytes(*arrays):
    buf = io.BytesIO()
    for a in arrays:
        np.save(buf, a)
    return buf.getvalue()


def npy_records(data):
    buf, out = io.BytesIO(data), []
    while buf.tell() < len(data):
        out.append(np.load(buf, allow_pickle=False))
    return out


@pytest.fixture
def run():
    """jvpcli in process through click's runner; stdout and stderr kept apart."""

    def invoke(*args, stdin=None):
        return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)

    return invoke


@pytest.fixture
def run_json(run):
    def invoke(*args, stdin=None):
        result = run(args[0], "--format", "json", *args[1:], stdin=stdin)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return invoke


def jvpcli_command():
    """The installed console script, or ``python -m jvpcli`` beside this interpreter."""
    script = shutil.which("jvpcli", path=os.path.dirname(sys.executable)) or shutil.which("jvpcli")
    return [script] if script else [sys.executable, "-m", "jvpcli"]


@pytest.fixture
def proc():
    """jvpcli as a real process."""

    def invoke(*args, stdin=b"", **kwargs):
        return subprocess.run([*jvpcli_command(), *args], input=stdin, capture_output=True, timeout=120, **kwargs)

    return invoke


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test's kernel cache is its own folder, never the user's, and in-process memory starts empty."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("JVPCLI_CACHE_DIR", str(folder))
    monkeypatch.setattr("jvpcli.api._MEMO", {})
    return folder


@pytest.fixture
def small_blocks(monkeypatch):
    """Stream from 256 KiB on, in blocks of 16 KiB of inputs: many blocks on small arrays.
    Gives the number of blocks of each streamed evaluation, so a test knows it streamed."""
    monkeypatch.setattr(stream, "STREAM_ABOVE", 1 << 18)
    monkeypatch.setattr(stream, "INPUT_BYTES", 1 << 14)
    monkeypatch.setattr(stream, "THREAD_BYTES", 1 << 14)
    monkeypatch.setattr(stream, "resident", lambda: 0)
    monkeypatch.setattr("jvpcli.api.SMALL_WORK", 1 << 12)
    blocks = []
    prepare = stream.Streamer.prepare

    def counted(self, *args):
        layout = prepare(self, *args)
        blocks.append(len(layout.spans))
        return layout

    monkeypatch.setattr(stream.Streamer, "prepare", counted)
    return blocks
