"""Every code block of README.md and docs/*.md runs, as a reader would run it.

bash blocks go through a real shell with the installed ``jvpcli`` on PATH, python blocks
through a fresh interpreter; both in one temporary folder per document that holds a copy of
``samples/``, blocks in document order. A line ``<!-- doc-test: ... -->`` right before a block
says more about it:

* ``needs MODULE ...``: skipped, with that reason, when a module (an optional extra) is absent;
* ``output``: this block is what the block before it prints (stdout and stderr), compared
  line by line with trailing blanks dropped;
* ``installed``: a set-up block; its venv and ``pip install`` steps are what made this
  environment, so only the commands after them run;
* ``skip REASON``: not run, with that reason.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
_SET_UP = re.compile(r"^(python3? -m venv |\. \S*activate$|(python3? -m )?pip install )")


class Block(NamedTuple):
    document: Path
    line: int
    language: str
    code: str
    directive: str

    @property
    def id(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        directive = _DIRECTIVE.search(before)
        line = text.count("\n", 0, m.start()) + 1
        found.append(Block(document, line, m.group(1), m.group(2), directive.group(1) if directive else ""))
    return found


ALL = [b for d in DOCUMENTS for b in blocks(d)]
RUN = [b for b in ALL if b.language in RUNNABLE]
EXPECTED = {
    b.id: nxt
    for b, nxt in pairwise(ALL)
    if nxt.directive == "output" and nxt.document == b.document and b.language in RUNNABLE
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One working folder per document (blocks share files, like a reader's shell), samples
    copied in; one kernel cache for all, as a reader has."""
    made: dict[Path, Path] = {}
    cache = tmp_path_factory.mktemp("cache")

    def folder(document: Path) -> tuple[Path, dict[str, str]]:
        if document not in made:
            made[document] = tmp_path_factory.mktemp(document.stem)
            shutil.copytree(ROOT / "samples", made[document] / "samples")
        return made[document], _environment(cache)

    return folder


def _environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JVPCLI_"))}
    env.update(
        PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]),
        JVPCLI_CACHE_DIR=str(cache),
        NO_COLOR="1",
        COLUMNS="80",
    )
    return env


def _after_install(code: str) -> str:
    steps = [s.strip() for s in code.strip().split("&&")]
    kept = [s for s in steps if not _SET_UP.match(s)]
    assert len(kept) < len(steps), "an 'installed' block must start with its set-up steps"
    return " && ".join(kept)


def _skip_reason(block: Block) -> str | None:
    words = block.directive.split()
    if words[:1] == ["skip"]:
        assert len(words) > 1, f"{block.id}: a skip needs a reason"
        return " ".join(words[1:])
    if words[:1] == ["needs"]:
        missing = [m for m in words[1:] if importlib.util.find_spec(m) is None]
        if missing:
            return f"needs {', '.join(missing)} (an optional extra), not installed"
    return None


@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_code_block_runs(block, folders):
    reason = _skip_reason(block)
    if reason:
        pytest.skip(reason)
    folder, env = folders(block.document)
    code = _after_install(block.code) if block.directive == "installed" else block.code
    shell = RUNNABLE[block.language]
    command = ["bash", "-euo", "pipefail", "-c", code] if shell == "bash" else [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    shown = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, f"{block.id} exited {done.returncode}:\n{code}\n---\n{shown}"
    expected = EXPECTED.get(block.id)
    if expected is not None:
        assert _lines(shown) == _lines(expected.code), f"{block.id}: the output differs from {expected.id}"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_every_block_has_a_known_language():
    """A block in another language would silently not run: only these, and plain text, exist."""
    allowed = {*RUNNABLE, "", "text"}
    odd = [f"{b.id} ({b.language})" for b in ALL if b.language not in allowed]
    assert not odd, f"code blocks in a language this test does not run: {odd}"


def test_output_blocks_follow_a_runnable_block():
    orphans = [b.id for b in ALL if b.directive == "output" and b not in EXPECTED.values()]
    assert not orphans, f"'output' blocks with no runnable block before them: {orphans}"


def _accepted_names() -> set[str]:
    """Every name FUNC's parser accepts: functions, attributes, constants, keywords, module prefixes."""
    from jvpcli.lang.functions import ATTRIBUTES, CONSTANTS, FUNCTIONS, KEYWORD_ALIASES
    from jvpcli.lang.parse import MODULES, SUBMODULES

    keywords = {
        p.name
        for builtin in FUNCTIONS.values()
        for p in inspect.signature(builtin.fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    return {*FUNCTIONS, *ATTRIBUTES, *CONSTANTS, *KEYWORD_ALIASES, *keywords, *MODULES, *SUBMODULES}


def test_every_name_func_accepts_is_in_language_md():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    quoted = " ".join(re.findall(r"`([^`\n]+)`", text))
    documented = set(re.findall(r"[A-Za-z_]\w*", quoted)) | set(re.findall(r"[A-Za-z_][\w.]*\w", quoted))  # linalg.norm
    missing = sorted(_accepted_names() - documented)
    assert not missing, f"FUNC accepts these names, but docs/language.md does not show them (in backticks): {missing}"
