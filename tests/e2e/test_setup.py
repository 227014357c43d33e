"""The hash-pinned locks that `make synth` / `make test` install from match requirements*.txt.

Offline: nothing is resolved here. `make lock` (uv pip compile) writes the locks and records the
sha256 of the requirement files each was compiled from; a lock whose inputs changed since is stale
(the Makefile's install steps refuse it too). Re-pinning needs the network: run `make lock`.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

# lock -> the requirement files it is compiled from (requirements.lock is compiled with the dev lock
# as constraints, so a dev pin can move a runtime package too)
LOCKS = {
    "requirements.lock": ("requirements.txt", "requirements-dev.txt"),
    "requirements-dev.lock": ("requirements-dev.txt", "requirements.txt"),
    "requirements-checkov.lock": ("requirements-checkov.txt",),
}
# requirement file -> the lock that must hold each of its pins
PINNED_IN = {
    "requirements.txt": "requirements.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "requirements-checkov.txt": "requirements-checkov.lock",
}
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)$")


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    marker: str
    hashes: int


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def parse_lock(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for line in text.splitlines():
        match = ENTRY.match(line)
        if match:
            name, version, marker = match.groups()
            entries.append(Entry(normalize(name), version, (marker or "").strip(), 0))
        elif line.strip().startswith("--hash=sha256:") and entries:
            last = entries[-1]
            entries[-1] = Entry(last.name, last.version, last.marker, last.hashes + 1)
    return entries


def recorded_inputs(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# from (\S+) sha256=(\w+)$", text, re.MULTILINE))


def pins(requirement_file: str) -> dict[str, str]:
    found = {}
    for raw in (ROOT / requirement_file).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        match = PIN.match(line)
        assert match, f"{requirement_file}: {line!r} is not pinned as name==version"
        found[normalize(match.group(1))] = match.group(2)
    return found


def lock_entries(lock: str) -> list[Entry]:
    return parse_lock((ROOT / lock).read_text(encoding="utf-8"))


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_was_compiled_from_the_current_requirement_files(lock: str) -> None:
    recorded = recorded_inputs((ROOT / lock).read_text(encoding="utf-8"))
    assert sorted(recorded) == sorted(LOCKS[lock]), f"{lock}: unexpected inputs, run `make lock`"
    stale = [
        name
        for name, digest in recorded.items()
        if hashlib.sha256((ROOT / name).read_bytes()).hexdigest() != digest
    ]
    assert stale == [], f"{lock} is stale ({', '.join(stale)} changed since): run `make lock`"


@pytest.mark.parametrize("requirement_file", sorted(PINNED_IN))
def test_every_pin_is_in_its_lock_at_the_same_version(requirement_file: str) -> None:
    locked: dict[str, set[str]] = {}
    for entry in lock_entries(PINNED_IN[requirement_file]):
        locked.setdefault(entry.name, set()).add(entry.version)
    wanted = pins(requirement_file)
    if requirement_file == "requirements-dev.txt":
        wanted |= pins("requirements.txt")  # `-r requirements.txt`
    assert wanted
    wrong = {name: (v, locked.get(name)) for name, v in wanted.items() if locked.get(name) != {v}}
    assert wrong == {}, f"pin vs lock: {wrong}; run `make lock`"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_package_has_hashes(lock: str) -> None:
    entries = lock_entries(lock)
    assert len(entries) > 5
    assert [e.name for e in entries if e.hashes == 0] == []


def test_runtime_lock_is_the_dev_lock_restricted_to_the_runtime() -> None:
    """`make synth` then `make test` installs the same versions as `make test` alone."""
    dev = {(e.name, e.marker): e.version for e in lock_entries("requirements-dev.lock")}
    runtime = {(e.name, e.marker): e.version for e in lock_entries("requirements.lock")}
    assert {key: (v, dev.get(key)) for key, v in runtime.items() if dev.get(key) != v} == {}


def test_the_makefile_installs_from_the_locks_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for lock in LOCKS:
        assert re.search(rf"\$\(call install_lock,[^,]+,{re.escape(lock)}[,)]", makefile), lock
        assert f"$(call check_lock,{lock})" in makefile
    assert makefile.count("--require-hashes") >= 2  # uv and the pip fallback
    assert "-r requirements-dev.txt" not in makefile  # installs from locks only


def test_parse_lock_reads_markers_and_hashes() -> None:
    text = (
        "# header\n"
        "networkx==3.6.1 ; python_full_version < '3.12' \\\n"
        "    --hash=sha256:aa \\\n"
        "    --hash=sha256:bb\n"
        "    # via moto\n"
        "PyYAML==6.0.4 \\\n"
        "    --hash=sha256:cc\n"
    )
    assert parse_lock(text) == [
        Entry("networkx", "3.6.1", "python_full_version < '3.12'", 2),
        Entry("pyyaml", "6.0.4", "", 1),
    ]


def _check_lock_command() -> str:
    """The Makefile's `check_lock` snippet, as the shell runs it (make's `$$` is `$`)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^define check_lock\n(.*?)\nendef$", makefile, re.MULTILINE | re.DOTALL)
    assert match, "the Makefile has no check_lock"
    return match.group(1).replace("$$", "$")


@pytest.mark.parametrize("changed", [False, True])
def test_setup_refuses_a_stale_lock(tmp_path: Path, changed: bool) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.44.8\n", encoding="utf-8")
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    (tmp_path / "requirements.lock").write_text(
        f"# header\n# from requirements.txt sha256={digest}\nboto3==1.44.8 \\\n"
        "    --hash=sha256:aa\n",
        encoding="utf-8",
    )
    if changed:
        requirements.write_text("boto3==1.44.9\n", encoding="utf-8")
    command = (
        _check_lock_command()
        .replace("$(PYTHON)", shlex.quote(sys.executable))
        .replace("$(1)", "requirements.lock")
    )
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    if changed:
        assert done.returncode == 1
        assert "requirements.lock is stale (requirements.txt changed since)" in done.stderr
        assert "make lock" in done.stderr
    else:
        assert (done.returncode, done.stderr) == (0, "")
