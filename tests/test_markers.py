"""The ``slow`` marker means what pyproject.toml says: "runs an external tool (cfn-lint, checkov,
the CDK CLI, a wheel build)". A test that reaches checkov and cfn-lint through the session's
lint fixtures is ``slow`` whether or not it says so (tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import LINT_FIXTURES, mark_lint_tests_slow


@dataclass
class _Item:
    """What ``mark_lint_tests_slow`` reads and writes of a collected test."""

    fixturenames: tuple[str, ...]
    markers: list[pytest.Mark] = field(default_factory=list)

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return next((m for m in self.markers if m.name == name), None)

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.mark)


@pytest.mark.parametrize("fixture", sorted(LINT_FIXTURES))
def test_a_test_that_lints_through_a_fixture_is_slow(fixture: str) -> None:
    linting = _Item(("synths", fixture))
    already = _Item((fixture,), [pytest.mark.slow.mark])
    other = _Item(("synths", "default", "tmp_path"))
    mark_lint_tests_slow([linting, already, other])  # type: ignore[list-item]
    assert [m.name for m in linting.markers] == ["slow"]
    assert [m.name for m in already.markers] == ["slow"]  # not marked twice
    assert other.markers == []


def test_no_collected_test_that_lints_escapes_the_marker(request: pytest.FixtureRequest) -> None:
    """Over the tests this session runs: in a run of the whole suite, every test that lints is
    ``slow``; under ``-m "not slow"``, none that lints is left to run. None of them writes the
    marker itself: it follows from the fixture."""
    linting = [
        item
        for item in request.session.items
        if LINT_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    assert all(item.get_closest_marker("slow") for item in linting), [
        item.nodeid for item in linting if not item.get_closest_marker("slow")
    ]
