"""Bytecode for Python files that a test's subprocess reaches by another path than usual.

With ``PYTHONPYCACHEPREFIX`` (the Makefile and tests/conftest.py set it), Python reads and writes
the bytecode of ``/a/b/m.py`` at ``PREFIX/a/b/m.<tag>.pyc``: a parallel tree, named by the path
the module was imported from, links not resolved (Python docs, ``sys.pycache_prefix``; CPython
issue 90135: "Python takes the absolute path to the .py file, [...] strip[s] off the leading
slash, and [...] joins the path with the prefix"). So the same aws-cdk-lib reached through a
repository copy's ``.venv`` link, or installed again into a fresh venv, was compiled again by
every such test in every session (~5 s CPU per synth, 33 MB of bytecode each time).

``share_bytecode(alias, target)`` links the alias's place in that tree to the target's, so both
paths use one cache. Nothing else changes: Python still checks each cached file against its
source's modification time and size before using it, and recompiles when they differ.

``NODE_COMPILE_CACHE`` is Node.js's counterpart for a CLI started again and again: each start of
the CDK CLI compiles its JavaScript anew, unless the variable names a directory where Node.js
(22.1 and later; older ones ignore it) keeps V8's code cache of every module it compiles
(Node.js docs, "Module compile cache": "a quiet optimization that is not required for the
application to be functional"; an entry is used only for the same module source). The cache is
one per test session (``node_compile_cache``), not kept across sessions: a synth's jsii kernel
inherits the variable and loads the CDK's JavaScript from a fresh temporary directory each time,
so every synth added ~850 entries (~13 MB) that no later run could use, and a shared directory
only grew (660 MB here after a day). Within a session the CLI's starts still share it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def session_temp(basetemp: Path) -> Path:
    """The test session's temporary directory, given pytest's ``getbasetemp()``: under
    pytest-xdist a worker's basetemp is a folder of the session's, shared by its workers."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def node_compile_cache(basetemp: Path) -> Path:
    """The session's ``NODE_COMPILE_CACHE`` directory (``session_temp``), shared by its workers;
    pytest removes it with the session's temporary files (it keeps the last three sessions')."""
    cache = session_temp(basetemp) / "node-compile-cache"
    cache.mkdir(exist_ok=True)
    return cache


def cache_dir(prefix: str, source_dir: Path) -> Path:
    """Where Python with this pycache ``prefix`` keeps the bytecode of ``source_dir``'s modules
    (``source_dir`` as the subprocess names it: absolute, links unresolved)."""
    return Path(prefix, *source_dir.absolute().parts[1:])


def share_bytecode(
    alias: Path, target: Path, env: Mapping[str, str], *, target_prefix: str | None = None
) -> bool:
    """Python run with ``env`` caches the bytecode of the modules under the directory ``alias``
    where it caches those under ``target`` (the same files by another path, or files that
    replace them there): in ``env``'s pycache prefix, or in ``target_prefix`` (another
    process's, whose bytecode of the same files it then uses). False (nothing done) without an
    absolute pycache prefix in ``env``, or off POSIX."""
    prefix = env.get("PYTHONPYCACHEPREFIX", "")
    if os.name != "posix" or not Path(prefix).is_absolute():
        return False
    link, shared = cache_dir(prefix, alias), cache_dir(target_prefix or prefix, target)
    shared.mkdir(parents=True, exist_ok=True)
    link.parent.mkdir(parents=True, exist_ok=True)
    if not (link.is_symlink() and link.resolve() == shared.resolve()):
        link.symlink_to(shared, target_is_directory=True)
    return True
