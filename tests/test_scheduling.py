"""How `make test` hands the suite to its xdist workers (tests/conftest.py): what must share
a worker does, and nothing else is tied to the synth group's worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tests.conftest import SYNTH_GROUP, heavy_groups_first, xdist_groups


@dataclass
class _Item:
    """What the scheduling reads of a ``pytest.Item``: its id, its fixtures and their scopes,
    its ``slow`` mark."""

    nodeid: str
    scopes: dict[str, str] = field(default_factory=dict)  # fixture -> scope
    slow: bool = False

    @property
    def fixturenames(self) -> list[str]:
        return list(self.scopes)

    @property
    def _fixtureinfo(self) -> Any:
        defs = {name: [SimpleNamespace(scope=scope)] for name, scope in self.scopes.items()}
        return SimpleNamespace(name2fixturedefs=defs)

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


M = "tests/x/test_mixed.py"
ITEMS = [
    _Item(f"{M}::test_reads_the_synth", {"default": "session", "tmp_path": "function"}),
    _Item(f"{M}::test_shares_its_module_fixture", {"built": "module"}),
    _Item(f"{M}::test_shares_with_the_one_above", {"built": "module", "other": "module"}),
    _Item(f"{M}::test_runs_the_cli", {"tmp_path": "function", "cache": "session"}, slow=True),
    _Item(f"{M}::test_own_module_fixture", {"own": "module"}),
    _Item(f"{M}::test_reads_the_synth_too", {"synths": "session", "built": "module"}),
    _Item("tests/x/test_plain.py::test_a"),
    _Item("tests/x/test_plain.py::test_b", {"other": "module"}),
]


def test_a_synth_test_and_what_shares_its_module_fixtures_join_the_synth_group() -> None:
    groups = xdist_groups(ITEMS)  # type: ignore[arg-type]
    assert {i.nodeid.split("::")[1]: groups[i.nodeid] for i in ITEMS} == {
        "test_reads_the_synth": SYNTH_GROUP,
        "test_shares_its_module_fixture": SYNTH_GROUP,  # "built" runs once, on that worker
        "test_shares_with_the_one_above": SYNTH_GROUP,  # and so does "other", with it
        "test_runs_the_cli": M,  # a function- or session-scoped fixture ties nothing
        "test_own_module_fixture": M,
        "test_reads_the_synth_too": SYNTH_GROUP,
        "test_a": "tests/x/test_plain.py",
        "test_b": "tests/x/test_plain.py",  # another module's "other" is another fixture
    }


def test_groups_with_slow_tests_first_then_the_larger() -> None:
    groups = xdist_groups(ITEMS)  # type: ignore[arg-type]
    ordered = heavy_groups_first(ITEMS, groups)  # type: ignore[arg-type]
    assert [groups[i.nodeid] for i in ordered] == [M] * 2 + [SYNTH_GROUP] * 4 + [
        "tests/x/test_plain.py"
    ] * 2
    # each group's own tests keep their collection order
    assert [i.nodeid for i in ordered[:2]] == [ITEMS[3].nodeid, ITEMS[4].nodeid]
