"""The code blocks of the documentation, and how each one is run.

A fenced block may be preceded (blank lines allowed) by a directive, an HTML comment that the
rendered page does not show::

    <!-- docs-test: program summarizer -->          a complete program, named (optional)
    <!-- docs-test: file summarizer lambda/x.py --> a file of that program's project folder
    <!-- docs-test: session constructs -->          one of the blocks of a page run in order,
                                                    in one namespace, as one program
    <!-- docs-test: config-error {"region": "us-east"} -->
                                                    the message app.py prints for
                                                    config/default.yaml with these changes
    <!-- docs-test: diff-recipe -->                 the offline `cdk diff` recipe
    <!-- docs-test: client -->                      a client of the inference API, run against
                                                    `bedrock-lz serve` (its base URL
                                                    CLIENT_BASE_URL replaced by the local one)

A Python block without a directive is a complete program. Every Python block of README.md and
docs/*.md must be run one of these ways (``tests/docs/test_examples.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

#: The documentation whose examples are run.
DOCUMENTS: tuple[Path, ...] = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

KINDS = ("program", "file", "session", "config-error", "diff-recipe", "client")
#: The private API's stage URL as a client example writes it (replaced when the example runs).
CLIENT_BASE_URL = "https://<api-id>.execute-api.<region>.amazonaws.com/prod"

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+)(?P<lang>[\w+-]*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(?P<kind>[\w-]+)\s*(?P<args>.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown document."""

    document: Path
    line: int  #: 1-based line of the first line of code (after the opening fence)
    lang: str
    code: str
    kind: str | None = None  #: the directive's kind, None without one
    args: str = ""  #: the rest of the directive

    @property
    def where(self) -> str:
        document = self.document
        shown = document.relative_to(ROOT) if document.is_relative_to(ROOT) else document
        return f"{shown.as_posix()}:{self.line}"

    @property
    def words(self) -> list[str]:
        return self.args.split()

    def json_args(self) -> Any:
        return json.loads(self.args)

    def compiled(self, filename: str | Path) -> Any:
        """The code compiled so that tracebacks show the document's line numbers."""
        return compile("\n" * (self.line - 1) + self.code, str(filename), "exec")


def blocks(document: Path) -> list[Block]:
    """Every fenced block of ``document``, with the directive in front of it if any."""
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening["fence"]
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise ValueError(f"{document}:{index + 1}: code block never closed")
        kind, args = _directive_before(lines, index, document)
        found.append(
            Block(
                document=document,
                line=index + 2,
                lang=opening["lang"].lower(),
                code="\n".join(lines[index + 1 : end]) + "\n",
                kind=kind,
                args=args,
            )
        )
        index = end + 1
    return found


def _directive_before(lines: list[str], index: int, document: Path) -> tuple[str | None, str]:
    previous = index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous < 0:
        return None, ""
    text = lines[previous].strip()
    if "docs-test" not in text:
        return None, ""
    match = _DIRECTIVE.match(text)
    if not match or match["kind"] not in KINDS:
        raise ValueError(
            f"{document}:{previous + 1}: unreadable directive {text!r}; "
            f"write <!-- docs-test: KIND ARGS --> with KIND one of {', '.join(KINDS)}"
        )
    return match["kind"], match["args"]


def all_blocks() -> list[Block]:
    return [block for document in DOCUMENTS for block in blocks(document)]


def python_blocks() -> list[Block]:
    return [block for block in all_blocks() if block.lang in ("python", "py")]


@dataclass(frozen=True)
class Program:
    """A complete program and the files of its project folder (path -> block)."""

    main: Block
    name: str | None
    files: dict[str, Block]

    @property
    def where(self) -> str:
        return self.main.where

    def write(self, folder: Path) -> Path:
        """The program as ``folder/app.py`` with its files beside it; returns app.py."""
        folder.mkdir(parents=True, exist_ok=True)
        for relative, block in self.files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")
        app = folder / "app.py"
        app.write_text(block_source(self.main), encoding="utf-8")
        return app


def block_source(block: Block) -> str:
    """The block's code, padded so that line numbers match the document's."""
    return "\n" * (block.line - 1) + block.code


def programs() -> list[Program]:
    """Every complete program of the documentation, with its files."""
    python = python_blocks()
    result: list[Program] = []
    for block in python:
        if block.kind not in (None, "program"):
            continue
        name = block.words[0] if block.kind == "program" and block.words else None
        files = {
            other.words[1]: other
            for other in python
            if other.kind == "file" and len(other.words) == 2 and other.words[0] == name
        }
        result.append(Program(main=block, name=name, files=files))
    return result


def program(name: str) -> Program:
    (found,) = [p for p in programs() if p.name == name]
    return found


def clients() -> list[Block]:
    """Every client example (Python blocks marked ``client``)."""
    return [block for block in python_blocks() if block.kind == "client"]


def sessions() -> dict[str, list[Block]]:
    """Session name -> its blocks in document order."""
    result: dict[str, list[Block]] = {}
    for block in python_blocks():
        if block.kind == "session":
            result.setdefault(block.words[0] if block.words else "", []).append(block)
    return result
