#!/usr/bin/env python3
"""The aws_cdk modules mypy reads: those this repository imports and every module their types name.

``aws_cdk/__init__.py`` imports all of aws-cdk-lib's modules under ``TYPE_CHECKING`` (about 350
modules, 183 MB of Python in 2.2xx), so mypy, following imports, parsed every one of them: about
100 s of a cold ``make typecheck``, most of a fresh clone's type check. pyproject.toml therefore
tells mypy to skip ``aws_cdk.*`` (``follow_imports = "skip"``: a skipped module is ``Any``) except
the modules listed between this tool's markers. Those are:

* each aws_cdk module a Python file of the repository imports (``import aws_cdk.aws_x``,
  ``from aws_cdk import aws_x``, ``from aws_cdk.aws_x import ...``);
* and, transitively, each aws_cdk module such a module imports at module level or in its own
  ``TYPE_CHECKING`` block, which is where its annotations' and base classes' types come from.

The one kind of edge not followed is a package's list of its submodules (``from . import x as x``
under ``TYPE_CHECKING``): aws_cdk's names every module of the library. So mypy still sees every type
a used module names, including base classes (a skipped base would make a class ``Any``-based, and
mypy accepts an ``Any``-based value everywhere): the checks are the same as when it read
everything. ``--check`` (tests/test_typecheck_config.py runs it) fails when the list and the
repository differ, for example after a new import or an aws-cdk-lib upgrade; ``--write`` fixes it.

    python3 tools/mypy_cdk.py --check | --write
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
BEGIN = "# BEGIN tools/mypy_cdk.py: the aws_cdk modules mypy reads (--write regenerates them)\n"
END = "# END tools/mypy_cdk.py\n"
#: Folders that hold no source of this repository.
NOT_SOURCE = frozenset(
    {".git", ".venv", ".venv-checkov", "node_modules", "cdk.out", "build", "dist", ".mypy_cache"}
)
_TYPE_CHECKING_BLOCK = re.compile(r"^if (?:typing\.)?TYPE_CHECKING:\n((?:(?:[ \t]+.*)?\n)+)", re.M)


def source_files(root: Path = ROOT) -> Iterator[Path]:
    """Every Python file of the repository (not of its venvs, builds and outputs)."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_SOURCE)
        yield from (Path(folder, name) for name in sorted(files) if name.endswith(".py"))


def _cdk_root() -> Path:
    spec = importlib.util.find_spec("aws_cdk")
    if spec is None or spec.origin is None:
        raise SystemExit("mypy_cdk: aws_cdk is not installed in this Python (run make setup)")
    return Path(spec.origin).parent


def module_file(module: str, cdk_root: Path) -> Path | None:
    """The file of an aws_cdk module (``aws_cdk.aws_iam``), ``None`` for a name that is not one."""
    parts = module.split(".")[1:]
    package = cdk_root.joinpath(*parts) / "__init__.py"
    if package.is_file():
        return package
    single = cdk_root.joinpath(*parts).with_suffix(".py") if parts else None
    return single if single is not None and single.is_file() else None


def _imported(
    tree: ast.AST, package: str | None, cdk_root: Path, *, reexports: bool = True
) -> Iterator[str]:
    """The modules the import statements of ``tree`` name; ``package`` resolves a relative import
    (the importing module's package). ``reexports=False`` leaves out ``from . import x as x``:
    how a jsii package lists its submodules for type checkers (aws_cdk's lists all of them)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None or (node.module is None and not reexports):
                    continue
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            # `from aws_cdk import aws_iam`: a submodule named as an attribute
            for alias in node.names:
                if module_file(f"{module}.{alias.name}", cdk_root) is not None:
                    yield f"{module}.{alias.name}"


def _is_cdk(module: str) -> bool:
    return module == "aws_cdk" or module.startswith("aws_cdk.")


def direct_imports(files: Iterable[Path], cdk_root: Path) -> set[str]:
    """The aws_cdk modules the given files import (anywhere in the file)."""
    found: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        if "aws_cdk" not in text:  # no statement in it can name an aws_cdk module: not parsed
            continue
        tree = ast.parse(text, filename=str(path))
        found.update(m for m in _imported(tree, None, cdk_root) if _is_cdk(m))
    return {m for m in found if module_file(m, cdk_root) is not None}


def _module_level_imports(module: str, path: Path, cdk_root: Path) -> set[str]:
    """What a jsii-generated module imports at module level and in its TYPE_CHECKING block.

    The files are large (aws_ec2 is 7.7 MB) and their docstrings hold example code with imports,
    so only the module-level statements are parsed: the lines after the module's docstring that
    start in column 0 with ``import``/``from``, and the TYPE_CHECKING block."""
    text = path.read_text(encoding="utf-8")
    body = text
    stripped = text.lstrip()
    for quote in ('r"""', '"""', "r'''", "'''"):
        if stripped.startswith(quote):
            end = stripped.find(quote[-3:], len(quote))
            body = stripped[end + 3 :] if end >= 0 else ""
            break
    statements = [line for line in body.splitlines() if line.startswith(("import ", "from "))]
    blocks = [match.group(1) for match in _TYPE_CHECKING_BLOCK.finditer(body)]
    source = "\n".join(statements) + "\n" + "\n".join(textwrap.dedent(b) for b in blocks)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(source)
    return {
        m
        for m in _imported(tree, package, cdk_root, reexports=False)
        if _is_cdk(m) and module_file(m, cdk_root) is not None
    }


def closure(start: Iterable[str], cdk_root: Path) -> set[str]:
    """``start`` and every aws_cdk module its modules import, transitively, submodule lists
    (``from . import x as x``: aws_cdk's names every module of the library) left out."""
    seen: set[str] = set()
    todo = sorted(set(start))
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module, cdk_root)
        if path is not None:
            todo.extend(sorted(_module_level_imports(module, path, cdk_root) - seen))
    return seen


def wanted(root: Path = ROOT) -> list[str]:
    """The modules pyproject.toml should list: the closure of what the repository imports."""
    cdk_root = _cdk_root()
    return sorted(closure(direct_imports(source_files(root), cdk_root), cdk_root))


def listed(pyproject: str) -> list[str]:
    """The modules between the markers of pyproject.toml's text."""
    start, end = pyproject.find(BEGIN), pyproject.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"mypy_cdk: {PYPROJECT.name} has no {BEGIN.strip()!r} ... {END.strip()!r}")
    return re.findall(r'^\s*"([^"]+)",?$', pyproject[start:end], re.M)


def rewrite(pyproject: str, modules: Iterable[str]) -> str:
    """pyproject.toml's text with ``modules`` between the markers."""
    start, end = pyproject.index(BEGIN) + len(BEGIN), pyproject.index(END)
    return pyproject[:start] + "".join(f'  "{m}",\n' for m in modules) + pyproject[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 when the list is not current")
    action.add_argument("--write", action="store_true", help="write the current list")
    args = parser.parse_args(argv)
    text = PYPROJECT.read_text(encoding="utf-8")
    want, have = wanted(ROOT), listed(text)
    if args.write:
        PYPROJECT.write_text(rewrite(text, want), encoding="utf-8")
        print(f"mypy_cdk: {len(want)} aws_cdk modules listed in {PYPROJECT.name}")
        return 0
    if want == have:
        return 0
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    print(
        f"mypy_cdk: {PYPROJECT.name}'s aws_cdk modules for mypy are not current"
        f" (missing: {', '.join(missing) or 'none'};"
        f" no longer needed: {', '.join(extra) or 'none'})."
        " A module missing there is Any to mypy and goes unchecked."
        " Fix: python3 tools/mypy_cdk.py --write",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
