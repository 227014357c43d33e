"""The Lambda functions ship their runtime's bytecode, current and nothing else.

Lambda's ``/var/task`` is read-only, so without bytecode in the asset every cold start compiles
every module it imports (the inference function's own modules: ~157 M instructions, a fifth of a
bare boto3 client's cold start). ``make bytecode`` (``tools/lambda_bytecode.mjs``, CPython 3.14 as
WebAssembly) writes checked-hash pycs beside the sources. These tests read each pyc's header the
way the runtime's importer does (Python docs, "Cached bytecode invalidation"; PEP 552: magic
number, flags, then the SipHash of the source keyed by the magic number) and fail on a stale or
missing one, naming the command that fixes it.
"""

from __future__ import annotations

import _imp
from pathlib import Path

import aws_cdk as cdk
import pytest

from bedrock_landing_zone.base.functions import _ASSET_EXCLUDE, BYTECODE_TAG, RUNTIME, _not_shipped
from tests.conftest import Synth

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = [ROOT / "lambda" / "inference", ROOT / "lambda" / "model_access"]
SOURCES = sorted(
    path
    for function in FUNCTIONS
    for path in function.rglob("*.py")
    if "__pycache__" not in path.parts and not any(p.startswith(".") for p in path.parts)
)
FIX = f"run `make bytecode` and commit lambda/**/__pycache__/*.{BYTECODE_TAG}.pyc"
#: Flags word of a pyc header: bit 0 hash-based, bit 1 check the source (PEP 552).
CHECKED_HASH = 0b11


def _bytecode_of(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc"


def test_the_tag_is_the_runtimes() -> None:
    assert RUNTIME.name == "python3.14"
    assert BYTECODE_TAG == "cpython-314"


@pytest.mark.parametrize("source", SOURCES, ids=[str(s.relative_to(ROOT)) for s in SOURCES])
def test_every_module_ships_checked_hash_bytecode_of_its_current_source(source: Path) -> None:
    pyc = _bytecode_of(source)
    assert pyc.is_file(), f"{source.relative_to(ROOT)} has no {BYTECODE_TAG} bytecode: {FIX}"
    header = pyc.read_bytes()[:16]
    magic, flags, digest = header[:4], int.from_bytes(header[4:8], "little"), header[8:16]
    assert magic[2:] == b"\r\n", f"{pyc.name}: not a pyc"
    assert flags == CHECKED_HASH, f"{pyc.name}: not a checked-hash pyc: {FIX}"
    # importlib's source_hash(): _imp.source_hash(_RAW_MAGIC_NUMBER, source) of the interpreter
    # that reads it, whose magic number the header carries.
    expected = _imp.source_hash(int.from_bytes(magic, "little"), source.read_bytes())
    assert digest == expected, f"{source.relative_to(ROOT)} changed since it was compiled: {FIX}"


def test_every_pyc_has_the_same_magic_number_and_a_source() -> None:
    pycs = sorted(p for f in FUNCTIONS for p in f.rglob(f"*.{BYTECODE_TAG}.pyc"))
    assert {p.read_bytes()[:4] for p in pycs} != set()
    assert len({p.read_bytes()[:4] for p in pycs}) == 1  # one interpreter compiled them all
    orphans = [p for p in pycs if not (p.parent.parent / f"{p.name.split('.')[0]}.py").is_file()]
    assert not orphans, f"bytecode without a source: {orphans}: {FIX}"


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _fingerprint(path: Path) -> str:
    return cdk.FileSystem.fingerprint(
        str(path), exclude=_ASSET_EXCLUDE, ignore_mode=cdk.IgnoreMode.GIT
    )


def test_the_asset_keeps_the_runtimes_bytecode_and_drops_any_other(tmp_path: Path) -> None:
    """CDK's own fingerprint of an asset folder (what decides the asset's hash and content)
    under the exclude rules the functions use: another interpreter's bytecode or a type
    checker's cache changes nothing, the runtime's bytecode does."""
    base = {"pkg/m.py": b"x = 1\n", f"pkg/__pycache__/m.{BYTECODE_TAG}.pyc": b"314"}
    plain = _fingerprint(_tree(tmp_path / "a", base))
    local = _tree(
        tmp_path / "b",
        {
            **base,
            "pkg/__pycache__/m.cpython-311.pyc": b"311",
            "pkg/.mypy_cache/x.json": b"{}",
        },
    )
    assert _fingerprint(local) == plain
    changed = _tree(tmp_path / "c", {**base, f"pkg/__pycache__/m.{BYTECODE_TAG}.pyc": b"new"})
    assert _fingerprint(changed) != plain


def test_a_staged_copy_drops_the_same_files() -> None:
    names = ["m.py", f"m.{BYTECODE_TAG}.pyc", "m.cpython-311.pyc", ".mypy_cache", "__pycache__"]
    assert _not_shipped("pkg", names) == {"m.cpython-311.pyc", ".mypy_cache"}


def test_the_inference_asset_ships_its_bytecode(default: Synth) -> None:
    (asset,) = [d for d in default.outdir.glob("asset.*") if (d / "bedrock_inference").is_dir()]
    shipped = sorted(p.name for p in (asset / "bedrock_inference" / "__pycache__").iterdir())
    sources = sorted(p.stem for p in (ROOT / "lambda/inference/bedrock_inference").glob("*.py"))
    assert shipped == [f"{stem}.{BYTECODE_TAG}.pyc" for stem in sources]
    assert not [p for p in asset.rglob("*.pyc") if not p.name.endswith(f".{BYTECODE_TAG}.pyc")]
