"""Write PLY's parse tables for checkov's JSONPath parsers, once, into checkov's venv.

checkov's CloudFormation graph parses a JSONPath expression per attribute it resolves through
``bc_jsonpath_ng``, whose parser calls ``ply.yacc.yacc(..., write_tables=0)`` on every parse:
PLY then builds the grammar's LALR tables again each time (0.26 s a parse; 77 parses, about
two thirds of checkov's CPU over the default environment's seven templates). PLY reads a
table module instead of building the tables when one exists whose grammar signature matches
(PLY 3.11 ``yacc()``: ``read_table(tabmodule)``, used only ``if read_signature == signature``;
PLY's documentation, "Yacc": the tables are cached in ``parsetab.py`` and regenerated when the
grammar changes). This writes that module beside each parser, under the name the parser asks
for, so checkov's results are the same and a grammar that changes with an upgrade is built
as before (the signature no longer matches). Run with checkov's Python:
``.venv-checkov/bin/python tools/checkov_parse_tables.py`` (``make setup`` does).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import ply.yacc
from bc_jsonpath_ng.ext.parser import ExtentedJsonPathParser
from bc_jsonpath_ng.parser import JsonPathParser

#: What ``JsonPathParser.parse_token_stream`` passes PLY: its module's name and start symbol.
START = "jsonpath"
TABLE = f"parser_{START}_parsetab"


def write_tables() -> list[Path]:
    written = []
    for parser in (JsonPathParser, ExtentedJsonPathParser):
        # PLY qualifies the table module by the parser's package and reads it from there
        directory = Path(sys.modules[parser.__module__].__file__ or "").parent
        ply.yacc.yacc(
            module=parser(),
            debug=False,
            tabmodule=TABLE,
            outputdir=str(directory),
            write_tables=True,
            start=START,
            errorlog=ply.yacc.NullLogger(),
        )
        written.append(directory / f"{TABLE}.py")
    return written


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    for path in write_tables():
        if not path.is_file():
            print(f"checkov_parse_tables: {path} was not written", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
