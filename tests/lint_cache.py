"""A cache of checkov's and cfn-lint's JSON output for a developer's repeated test sessions.

The session runs each tool once over every template it lints (``Lint`` in conftest.py, through
``run_tools``); that run is the suite's longest step (~45 s of CPU), and between two sessions
the templates seldom change. ``LintCache`` is a ``ToolRunner``: it returns the stored output of a
run with exactly the same inputs, else runs the tool (``run_json``, what runs without a cache)
and stores what it printed. Nothing else ever produces a result: a fresh clone, CI and a changed
input run the tools as before.

The key is a digest of everything the run reads that can change between sessions:

* the command (the tool's path and every argument, each template's path replaced by its place);
* each template's name and bytes, in the order the command names them;
* the working directory, and the configuration files either tool reads from it or from the home
  directory (``.cfnlintrc*``, ``.checkov.y*ml``), present or not, by content;
* the tool's installation: its script, the venv's ``pyvenv.cfg`` (the interpreter's version),
  and every installed distribution's name, version and ``RECORD`` (the digest of each installed
  file, as the installer wrote it); a tool outside such a venv is never cached;
* the whole environment the tool runs with (``tool_environment``: the session's, over the
  tool's defaults), except the variables pytest and xdist set per test or per worker, and the
  shell's and make's own bookkeeping (``_UNKEYED_VARIABLES``);
* how the templates' paths relate to each other (below).

The templates are synthesized into a new temporary directory in each session, and the tools
print their paths (checkov in three forms: absolute, relative to the working directory, and
relative with the ``..`` removed). The stored output holds a placeholder for each form of each
template's path, put back with the current paths on a hit. An output is stored only when that is
exact: no template's name is left in it once the forms are replaced (a form this module does not
know), and putting the same paths back gives the output byte for byte. Which forms coincide (for
a template outside the working directory the absolute and the ``..``-less forms are the same
string) is part of the key, so a placeholder always goes back as the form the tool printed.

Stored in ``.venv/lint-cache`` (outside the source tree, gone with the venv), the newest
``KEEP`` entries per tool. ``BEDROCK_LZ_LINT_CACHE=off`` runs the tools every session.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bedrock_landing_zone.compliance.evidence import run_json, tool_environment

#: The format of the stored entries; a change makes every older entry a miss.
FORMAT = 1
#: Entries kept per tool (the newest).
KEEP = 8
#: Not read by checkov or cfn-lint, and different between two sessions of the same inputs: set
#: per test or per worker by pytest and xdist, by the shell (the previous directory, the nesting
#: level, the last command; the working directory is a key part of its own) and by make (its
#: nesting level and flags: `make test` and `make unit` run the same tools), and the folder where
#: `make bench`'s profiling run has the suite's CPU per module written (bench/suite_cpu.py), a new
#: one each run, so that the bench's second run, without it, is the hit it measures.
_UNKEYED_VARIABLES = frozenset(
    {
        "PYTEST_CURRENT_TEST",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_XDIST_TESTRUNUID",
        "OLDPWD",
        "PWD",
        "SHLVL",
        "_",
        "MAKELEVEL",
        "MAKEFLAGS",
        "MFLAGS",
        "MAKE_TERMOUT",
        "MAKE_TERMERR",
        "BENCH_SUITE_CPU_DIR",
    }
)
#: The configuration files checkov and cfn-lint read from the working and the home directory.
CONFIG_FILES = (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml", ".checkov.yaml", ".checkov.yml")
_MARK = "\x00lint-cache:"


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def installation(tool: Path) -> dict[str, Any] | None:
    """What identifies the installation of ``tool`` (a script in ``<venv>/bin``): the script,
    ``pyvenv.cfg`` and each installed distribution's dist-info name and ``RECORD``; ``None``
    when ``tool`` is not in such a venv (then it is not cached)."""
    venv = tool.parent.parent
    config = _file_digest(venv / "pyvenv.cfg")
    script = _file_digest(tool)
    if config is None or script is None:
        return None
    distributions = {
        str(info.relative_to(venv)): _file_digest(info / "RECORD")
        for info in sorted(venv.glob("lib*/python*/site-packages/*.dist-info"))
    }
    if not distributions:
        return None
    return {"script": script, "pyvenv.cfg": config, "distributions": distributions}


def path_forms(template: Path, cwd: Path) -> list[str]:
    """The strings a tool prints for ``template`` run from ``cwd``: the path as given, absolute
    (symbolic links resolved), and checkov's two relative forms (``/`` + the path relative to
    the working directory, and that without ``/..``)."""
    absolute = os.path.realpath(template)
    relative = "/" + os.path.relpath(absolute, cwd)
    return [str(template), absolute, relative, relative.replace("/..", "")]


def _coincidences(forms: Sequence[str]) -> list[int]:
    """For each form, the first form equal to it."""
    return [forms.index(form) for form in forms]


def _placeholder(index: int, form: int) -> str:
    return f"{_MARK}{index}:{form}\x00"


def _replacements(templates: Sequence[Path], cwd: Path) -> list[tuple[str, str]]:
    """(path form, its placeholder) of every template, longest form first (a relative form
    contains the absolute one), each distinct string once."""
    pairs: dict[str, str] = {}
    for index, template in enumerate(templates):
        for form, text in enumerate(path_forms(template, cwd)):
            pairs.setdefault(text, _placeholder(index, form))
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _map_strings(value: Any, replace: Any) -> Any:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, list):
        return [_map_strings(v, replace) for v in value]
    if isinstance(value, dict):
        return {replace(k): _map_strings(v, replace) for k, v in value.items()}
    return value


def abstract_paths(output: Any, templates: Sequence[Path], cwd: Path) -> Any | None:
    """``output`` with each template path form replaced by its placeholder, or ``None`` when
    that is not exact (``restore_paths`` of the same paths would not give ``output`` back, or a
    template's name is left over: a form this module does not know)."""
    pairs = _replacements(templates, cwd)

    def replace(text: str) -> str:
        if _MARK in text:
            raise ValueError(text)
        for path, mark in pairs:
            text = text.replace(path, mark)
        return text

    try:
        abstracted = _map_strings(output, replace)
    except ValueError:
        return None
    flat = json.dumps(abstracted)
    if any(json.dumps(template.name)[1:-1] in flat for template in templates):
        return None
    if restore_paths(abstracted, templates, cwd) != output:
        return None
    return abstracted


def restore_paths(abstracted: Any, templates: Sequence[Path], cwd: Path) -> Any:
    """The placeholders of ``abstract_paths`` replaced with the path forms of ``templates``."""
    pairs = [
        (_placeholder(index, form), text)
        for index, template in enumerate(templates)
        for form, text in enumerate(path_forms(template, cwd))
    ]

    def replace(text: str) -> str:
        if _MARK not in text:
            return text
        for mark, path in pairs:
            text = text.replace(mark, path)
        return text

    return _map_strings(abstracted, replace)


def key_material(
    command: Sequence[str],
    templates: Sequence[Path],
    cwd: Path,
    tool: str,
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """Every input of the run that can change between sessions (see the module docstring), or
    ``None`` when the run is not cached (a tool outside a venv, a template that cannot be read,
    a command that does not name each template exactly once)."""
    places = {str(template): index for index, template in enumerate(templates)}
    if len(places) != len(templates) or sorted(
        places[arg] for arg in command if arg in places
    ) != list(range(len(templates))):
        return None
    install = installation(Path(command[0]))
    digests = [_file_digest(template) for template in templates]
    if install is None or None in digests:
        return None
    home = Path("~").expanduser()
    return {
        "format": FORMAT,
        "tool": tool,
        "command": [f"<template {places[arg]}>" if arg in places else arg for arg in command],
        "templates": [[t.name, d] for t, d in zip(templates, digests, strict=True)],
        "forms": [_coincidences(path_forms(t, cwd)) for t in templates],
        "cwd": str(cwd.resolve()),
        "config": {
            str(where / name): _file_digest(where / name)
            for where in (cwd, home)
            for name in CONFIG_FILES
        },
        "installation": install,
        # what the tool runs with (run_json): the caller's variables over the tool's defaults
        "environment": {
            k: v
            for k, v in sorted(tool_environment(tool, environ).items())
            if k not in _UNKEYED_VARIABLES
        },
    }


class LintCache:
    """A ``ToolRunner`` (``run_tools(..., runner=LintCache(directory))``) with the stored output
    of an identical earlier run, else the tool's own run (``run_json``), stored when the path
    forms can be moved exactly (``abstract_paths``). ``runs`` counts the tools' real runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runs = 0
        self.hits = 0
        self._counting = threading.Lock()  # run_both calls it from two threads

    def __call__(
        self, command: Sequence[str], templates: Sequence[Path], cwd: Path, tool: str
    ) -> Any:
        material = key_material(command, templates, cwd, tool, os.environ)
        if material is None:
            self._count(run=True)
            return run_json(command, templates, cwd, tool)
        blob = json.dumps(material, sort_keys=True).encode("utf-8")
        entry = self.directory / f"{tool}-{hashlib.sha256(blob).hexdigest()}.json"
        stored = self._load(entry)
        if stored is not None and stored.get("key") == material:
            self._count(run=False)
            return restore_paths(stored["output"], templates, cwd)
        self._count(run=True)
        output = run_json(command, templates, cwd, tool)
        abstracted = abstract_paths(output, templates, cwd)
        if abstracted is not None:
            self._store(entry, {"key": material, "output": abstracted}, tool)
        return output

    def _count(self, *, run: bool) -> None:
        with self._counting:
            if run:
                self.runs += 1
            else:
                self.hits += 1

    @staticmethod
    def _load(entry: Path) -> dict[str, Any] | None:
        try:
            stored = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return stored if isinstance(stored, dict) else None

    def _store(self, entry: Path, stored: dict[str, Any], tool: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(stored, file)
            Path(name).replace(entry)
            entries = sorted(self.directory.glob(f"{tool}-*.json"), key=lambda p: p.stat().st_mtime)
            for old in entries[:-KEEP]:
                old.unlink(missing_ok=True)
        except OSError:
            return  # a cache that cannot be written is only slower


def session_cache(root: Path, environ: Mapping[str, str]) -> LintCache | None:
    """The test session's cache: ``<root>/.venv/lint-cache`` when that venv exists, ``None``
    (the tools run every session) without it or with ``BEDROCK_LZ_LINT_CACHE=off``."""
    if environ.get("BEDROCK_LZ_LINT_CACHE", "").lower() in {"off", "0", "no", "false"}:
        return None
    venv = root / ".venv"
    return LintCache(venv / "lint-cache") if venv.is_dir() else None
