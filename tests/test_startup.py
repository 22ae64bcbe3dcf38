"""The click-free fast path of a plain ``jvp`` line: it parses exactly as click does, or not at all,
and behaves as click's path does; the user cache folder without platformdirs."""

import os
import sys

import click
import platformdirs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import jvpcli.cli.run as runner
from jvpcli.cli import commands, spec
from jvpcli.cli.main import main
from jvpcli.kernels.cache import default_folder

DECLS = sorted({d for opts, _, _ in spec.FAST.values() for opt in opts for d in opt.decls})
VALUES = ["x", "x=ones(2)", "ones", "-", "--", "", "=x", "json", "json ", "npy", "jvp", "float32", "complex128"]
VALUES += ["3", " 4", "1_0", "0", "-1", "+2", "x.json", "out.npy", ".", "samples", "README.md", "-x", "--bogus"]
OTHER = ["--help", "-h", "--version", "--traceback", "jvp", "check", "--", "-", "-1"]


OPTS = {d: opt for opts, _, _ in spec.FAST.values() for opt in opts for d in opt.decls}
#: values of each type, the borderline ones among them (click refuses 0 threads and -o of a folder)
GOOD = {"text": ["x=ones(2)", "ones", "-", "=x"], "int": ["3", " 4", "1_0", "-1", "x"], "count": ["2", "+1", "0"]}
GOOD["file"] = ["out.npy", "x.json", "README.md", ".", "samples"]
GOOD["size"] = ["1GiB", " 512mib ", "2G", "1.5k", "4096", "0", "-1", "1e3"]


@st.composite
def lines(draw):
    """Command lines near the fast path's edges: its options in every spelling with borderline
    values, positionals anywhere, ``--``, and now and then a stray click must handle."""
    groups = []
    for decl in draw(st.lists(st.sampled_from(DECLS), max_size=6)):
        opt = OPTS[decl]
        value = draw(st.sampled_from(list(opt.choices) or GOOD.get(opt.type, VALUES)))
        if draw(st.integers(0, 11)) == 0:
            value = draw(st.sampled_from(VALUES))
        spelling = draw(st.sampled_from(["apart", "apart", "joined", "equals"]))
        if opt.kind == "flag":
            groups.append([decl] if draw(st.integers(0, 11)) else [f"{decl}={value}"])
        elif spelling == "apart":
            groups.append([decl, value])
        else:  # --opt=VALUE; -oVALUE and -o=VALUE (whose value keeps its "=", as in click)
            groups.append([f"{decl}={value}" if spelling == "equals" or decl.startswith("--") else decl + value])
    positional = draw(st.lists(st.sampled_from(["x", "sin(x)", "x=ones(2)", "[1, 2]", "-", ""]), max_size=3))
    positional = positional if positional or draw(st.integers(0, 7)) == 0 else ["x"]
    for p in positional:
        groups.insert(draw(st.integers(0, len(groups))), [p])
    if draw(st.integers(0, 5)) == 0:  # everything after "--" is positional, dashes and all
        groups.append(["--", *draw(st.lists(st.sampled_from(VALUES), max_size=2))])
    if draw(st.integers(0, 7)) == 0:
        groups.insert(draw(st.integers(0, len(groups))), [draw(st.sampled_from(OTHER))])
    head = draw(st.lists(st.sampled_from(["--traceback"] * 8 + ["--help", "-x"]), max_size=2))
    command = draw(st.sampled_from(["jvp"] * 8 + ["check", "cache"]))
    return [*head, command, *(token for group in groups for token in group)]


def _click_call(argv, monkeypatch):
    """What click hands to the jvp command for ``argv`` (None when it runs no jvp): the group's
    --traceback, the Request and the command's own flags."""
    seen = []
    monkeypatch.setattr(runner, "jvp", lambda request, **flags: seen.append((request, flags)))
    boundary = commands.guarded
    monkeypatch.setattr(commands, "guarded", lambda call, tb, leave: seen.append(tb) or boundary(call, tb, leave))
    try:
        commands.cli.main(list(argv), prog_name="jvpcli", standalone_mode=False)
    except click.ClickException:
        return None
    return (seen[0], *seen[1]) if len(seen) == 2 else None


@settings(max_examples=400, deadline=None)
@given(lines())
def test_the_fast_parse_is_clicks_or_declines(argv):
    with pytest.MonkeyPatch.context() as mp:  # hypothesis runs every draw in one fixture scope
        mp.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # README.md, samples/ exist
        call = spec.parse(argv)
        if call is not None:
            expected = _click_call(argv, mp)
            assert expected is not None, argv
            assert (call.group["traceback"], *runner.bundle(call.params)) == expected
        event("fast" if call is not None else "declined")


@pytest.mark.parametrize(
    "argv",
    [
        ["jvp", "x.exp().sum(dim=1)", "x=ones(4,4)", "-v", "ones", "--format", "json"],
        ["--traceback", "jvp", "-v", "ones", "sin(x)", "[1, 2]", "--seed=3", "--threads", "2", "--no-cache"],
        ["jvp", "lambda x, y: x*y", "-i", "x=1", "--input=y=2", "-vones", "-v", "rand", "-c", "A=eye(2)"],
        ["jvp", "-o", "out.npz", "--only", "jvp", "--dtype", "float32", "--strict", "--create-graph", "--", "-x", "1"],
        ["jvp", "x", "-", "-v", "-", "--format", "npy", "--check", "--memory", "1GiB", "--quiet"],
    ],
)
def test_common_lines_take_the_fast_path_with_clicks_values(argv, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    call = spec.parse(argv)
    assert call is not None
    assert (call.group["traceback"], *runner.bundle(call.params)) == _click_call(argv, monkeypatch)


def test_the_fast_path_knows_every_parameter_of_its_commands():
    """A parameter declared on the click command but not in ``spec`` would be missing from
    the fast path's call: every fast command's click parameters are exactly spec's."""
    for name, (opts, _, _) in spec.FAST.items():
        params = commands.cli.commands[name].params
        assert [p.name for p in params] == ["func", "sources", *(o.dest for o in opts)]
    group = {p.name: p for p in commands.cli.params}
    assert all(group[dest].is_flag for dest in spec.GROUP_FLAGS.values())


PARITY = [
    ["jvp", "x.exp().sum(dim=1)", "x=ones(2,2)", "-v", "ones", "--format", "json"],
    ["jvp", "log(x)", "[0.0, 1.0]", "-v", "ones", "--format", "json"],  # a warning on stderr
    ["jvp", "x +", "x=1"],  # a parse error with its caret, exit 2
    ["jvp", "x*y", "x=1", "-v", "ones"],  # a usage error, exit 2
    ["jvp", "x", "x=nofile.npy", "-v", "ones"],  # a source error
    ["jvp", "x", "[1, 2]", "-v", "ones", "-o", "out.txt"],  # an output error
    ["jvp", "x.sum()", "[1, 2]", "-v", "ones", "-o", "out.json"],
]


@pytest.mark.parametrize("argv", PARITY)
def test_the_fast_path_prints_and_exits_as_click_does(argv, run, monkeypatch, tmp_path, capfd):
    monkeypatch.chdir(tmp_path)
    assert spec.parse(argv) is not None
    monkeypatch.setattr(sys, "argv", ["jvpcli", *argv])
    with pytest.raises(SystemExit) as leaving:
        main()
        sys.exit(0)
    fast = capfd.readouterr()
    written = [p.read_bytes() for p in sorted(tmp_path.iterdir())]
    for p in tmp_path.iterdir():
        p.unlink()
    by_click = run(*argv)
    assert (leaving.value.code or 0, fast.out, fast.err) == (by_click.exit_code, by_click.stdout, by_click.stderr)
    assert written == [p.read_bytes() for p in sorted(tmp_path.iterdir())]


@pytest.mark.parametrize("xdg", [None, "", "  ", "/somewhere/cache"])
def test_the_user_cache_folder_is_platformdirs_rule(xdg, monkeypatch):
    monkeypatch.delenv("JVPCLI_CACHE_DIR")
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert default_folder() == platformdirs.user_cache_dir("jvpcli")
