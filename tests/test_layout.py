"""The layout holds (docs/architecture.md): one folder per capability, imports flow one way.

Every module of the package and of ``stacks/`` is parsed (not imported) and each of its imports,
also those inside functions and under ``TYPE_CHECKING``, is checked against the table of
docs/architecture.md. A reversed edge fails with the importing file, its line and the rule.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bedrock_landing_zone"
NAME = "bedrock_landing_zone"

#: The capability folders, top to bottom: each may import the folders above it, never below.
ORDER = (
    "config",
    "compliance",
    "base",
    "governance",
    "network",
    "audit",
    "inference",
    "observability",
    "stacks",
    "delivery",
    "cli",
)
#: Folders outside the order, and what each may import of the package.
SPECIAL: dict[str, frozenset[str]] = {
    # renderers of a cloud assembly: the standard library and the config only
    "pictures": frozenset({"config", "pictures"}),
}
#: Third-party packages a renderer may not use (they read JSON files, not the CDK).
PICTURES_FORBIDDEN = ("aws_cdk", "constructs", "jsii", "cdk_nag", "boto3", "botocore")
#: Test folders that mirror no package folder, and why they exist.
TEST_EXTRAS = {
    "e2e": "the CLI synth, the clean-consumer wheel, setup",
    "docs": "every code block of README.md and docs/",
    "iam_eval": "the IAM policy evaluator and its own tests",
    "lambda": "the runtime code of lambda/<function>",
    "rehearsal": "the rehearsal of rehearsal/",
    "bench": "the arithmetic of bench/",
}


@dataclass(frozen=True)
class Edge:
    source: Path
    line: int
    target: str  # the imported module, absolute

    @property
    def where(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}"


def folder_of(module: str) -> str | None:
    """The capability folder of a module of the package (``None`` for the package root)."""
    parts = module.split(".")
    if parts[0] == "stacks":
        return "stacks"
    if parts[0] != NAME or len(parts) == 1:
        return None
    return parts[1] if parts[1] not in {"__main__"} else "cli"


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[0] == "stacks":
        parts = [NAME, *parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[Edge]:
    """Every import in the file, relative ones resolved to absolute module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target in {NAME, f"{NAME}.stacks"} or (node.level and not node.module):
                # `from bedrock_landing_zone import x`: x may be a module of a folder
                for alias in node.names:
                    yield Edge(path, node.lineno, f"{target}.{alias.name}")
            else:
                yield Edge(path, node.lineno, target)


def sources() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "stacks").rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def allowed(source: str, target: str) -> bool:
    if source == target:
        return True
    if source in SPECIAL:
        return target in SPECIAL[source]
    if target in SPECIAL:
        return source == "cli"  # the CLI may run anything
    if source == "cli":
        return True
    return ORDER.index(target) < ORDER.index(source)


def violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        source = folder_of(module_name(path))
        if source is None:
            continue  # the package root: __init__ (the public API) re-exports every folder
        for edge in imports(path):
            if source == "pictures" and edge.target.split(".")[0] in PICTURES_FORBIDDEN:
                found.append(f"{edge.where}: pictures/ reads JSON only, not {edge.target}")
            target = folder_of(edge.target)
            if target is None or (target not in ORDER and target not in SPECIAL):
                continue
            if not allowed(source, target):
                found.append(f"{edge.where}: {source}/ may not import {target}/ ({edge.target})")
    return found


def test_every_folder_of_the_package_is_in_the_table() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(ORDER) - {"stacks"} | set(SPECIAL)


def test_no_module_imports_a_folder_below_its_own() -> None:
    assert violations(sources()) == []


def test_the_check_finds_a_reversed_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: config importing governance, a renderer importing the CDK, and
    a relative import that climbs into a lower folder are each reported."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    package = tmp_path / NAME
    for folder in ("config", "governance", "pictures", "base"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "config" / "model.py").write_text(
        "def f():\n    from bedrock_landing_zone.governance import teams\n"
    )
    (package / "pictures" / "svg.py").write_text("import aws_cdk as cdk\n")
    (package / "base" / "roles.py").write_text("from ..governance import teams\n")
    governance = package / "governance" / "teams.py"
    governance.write_text("from bedrock_landing_zone.base import roles\n")  # allowed
    found = violations(sorted(package.rglob("*.py")))
    assert found == [
        f"{NAME}/base/roles.py:1: base/ may not import governance/ ({NAME}.governance)",
        f"{NAME}/config/model.py:2: config/ may not import governance/ ({NAME}.governance)",
        f"{NAME}/pictures/svg.py:1: pictures/ reads JSON only, not aws_cdk",
    ]


def test_runtime_code_imports_neither_the_cdk_nor_the_package() -> None:
    """lambda/<function>/ is importable alone (its own tests, in Lambda without the CDK)."""
    found = []
    for path in sorted((ROOT / "lambda").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] in {"aws_cdk", "constructs", "jsii", NAME}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []


def test_tests_mirror_the_package() -> None:
    """tests/<folder>/ for each capability that has tests, and no stray test folder."""
    test_folders = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").is_file()}
    capabilities = set(ORDER) - {"stacks"} | set(SPECIAL)
    assert test_folders - capabilities - set(TEST_EXTRAS) == set()
    assert capabilities - {"base"} <= test_folders  # base is tested through its users


def test_git_holds_no_symbolic_links() -> None:
    """Symbolic links break Windows clones (core.symlinks=false checks them out as text files)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    links = [line.split("\t")[1] for line in listing.splitlines() if line.startswith("120000")]
    assert links == []


def test_the_wheel_lists_every_package_of_the_tree() -> None:
    """pyproject.toml lists the packages (stacks/ and lambda/ are mapped in, so setuptools'
    find cannot be used): a new package folder missing from the list would be missing from the
    wheel and fail only for those who install it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    listed = set(setuptools["packages"])
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    mapped = {f"{NAME}.stacks", f"{NAME}.lambda"}
    assert listed - mapped == in_tree
    assert setuptools["package-dir"] == {
        NAME: NAME,
        f"{NAME}.stacks": "stacks",
        f"{NAME}.lambda": "lambda",
    }
