"""A team as the runtime sees it, the interface of a team directory, and the fixed team map.

The landing zone's SSM team directory is :mod:`bedrock_inference.team_directory`, imported only
by a function whose config names one (``team_directory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["StaticTeams", "Team", "TeamDirectory"]


@dataclass(frozen=True, slots=True)
class Team:
    """A team as the runtime sees it."""

    name: str
    models: tuple[str, ...]
    """Aliases the team may call, in its order."""
    profiles: Mapping[str, str] = field(default_factory=dict)
    """Alias -> the team's application inference profile ARN (calls for the alias use it)."""


class TeamDirectory(Protocol):
    def team_of(self, account_id: str, role_name: str) -> Team | None:
        """The team of role ``role_name`` in ``account_id``, or None."""
        ...


class StaticTeams:
    """The config's fixed team map: a role name belongs to one team, in the team's ``accounts``
    (any account the API admits when a team lists none)."""

    def __init__(self, teams: Mapping[str, Any]) -> None:
        self._by_role = {
            role: (Team(name=name, models=tuple(spec.models)), frozenset(spec.accounts))
            for name, spec in teams.items()
            for role in spec.role_names
        }

    def team_of(self, account_id: str, role_name: str) -> Team | None:
        entry = self._by_role.get(role_name)
        if entry is None:
            return None
        team, accounts = entry
        return team if not accounts or account_id in accounts else None
