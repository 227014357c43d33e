"""Which team a caller is, which aliases it may call, and which profile bills each call.

A caller is the IAM role API Gateway authenticated (``requestContext.identity.userArn``, an STS
assumed-role ARN ``arn:aws:sts::<account>:assumed-role/<role name>/<session>``). That ARN carries
the role's account and name but not its path (IAM User Guide, "IAM identifiers": role ARNs are
``role/<path><name>``, assumed-role ARNs ``assumed-role/<name>/<session>``), so a team is matched
on **account and role name** of its role ARN: a role of the same name in another account is not
the team.

Two sources, one interface (:class:`TeamDirectory`, in :mod:`bedrock_inference.teams` with
:class:`StaticTeams`, so that a function with a fixed team map never imports this module):

- :class:`StaticTeams`: the fixed map of the config (``teams``: team -> aliases, role names), for
  apps that embed the function with a known set of roles. Calls use the models' own ids.
- :class:`SsmTeamDirectory`: the landing zone's team directory (``team_directory``, an SSM path
  such as ``/bedrock-lz/<env>/teams/``). Each team stack publishes
  ``<path><team>/inference-access``, a JSON document ``{"team", "role_arn", "models": {alias:
  application inference profile ARN}}``. Calls for a team go through **its** application
  inference profile, whose ``Team`` tag puts the spend on the team's budget (Bedrock User Guide,
  "Track costs with application inference profiles"). Teams come and go without a redeploy of
  the function: the directory is read on first use with ``GetParametersByPath`` (recursive,
  paginated by ``NextToken``; SSM API Reference), again every ``refresh_s``, and at most every
  ``miss_refresh_s`` when an unknown role calls (a team added after the function started). When
  SSM fails the last good copy is kept; with none, the request fails with
  :class:`~bedrock_inference.errors.TeamDirectoryUnavailable` (503), never with a wrong team.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from bedrock_inference.errors import TeamDirectoryUnavailable
from bedrock_inference.teams import StaticTeams, Team, TeamDirectory
from bedrock_inference.telemetry import logger

__all__ = [
    "ENTRY_SUFFIX",
    "SsmTeamDirectory",
    "StaticTeams",
    "Team",
    "TeamDirectory",
    "parse_entry",
]

#: The last part of the parameter name of a team's entry.
ENTRY_SUFFIX = "/inference-access"
#: ``arn:<partition>:iam::<account>:role/<path><name>``.
_ROLE_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):role/(?:[\x21-\x7e]*/)?"
    r"(?P<name>[\w+=,.@-]{1,64})$"
)
#: An application inference profile ARN (Bedrock API Reference, ApplicationInferenceProfile).
_PROFILE_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:\d{12}:application-inference-profile/"
    r"[a-z0-9]{12}$"
)
_TEAM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def parse_entry(text: str, known_aliases: frozenset[str]) -> tuple[tuple[str, str], Team]:
    """``((account, role name), Team)`` of one directory entry; raises ``ValueError`` naming
    what is wrong. Aliases the function does not serve are left out (a team stack deployed with
    a newer allow-list than the function's), so they are refused as not allowed."""
    try:
        entry = json.loads(text)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    name, role_arn, models = entry.get("team"), entry.get("role_arn"), entry.get("models")
    if not isinstance(name, str) or not _TEAM.match(name):
        raise ValueError("team: missing or not a team name")
    match = _ROLE_ARN.match(role_arn) if isinstance(role_arn, str) else None
    if match is None:
        raise ValueError("role_arn: missing or not an IAM role ARN")
    if not isinstance(models, dict) or not models:
        raise ValueError("models: missing or empty")
    profiles: dict[str, str] = {}
    for alias, profile in models.items():
        if not isinstance(profile, str) or not _PROFILE_ARN.match(profile):
            raise ValueError(f"models.{alias}: not an application inference profile ARN")
        if alias in known_aliases:
            profiles[alias] = profile
    team = Team(name=name, models=tuple(profiles), profiles=profiles)
    return (match["account"], match["name"]), team


class SsmTeamDirectory:
    """The team directory in SSM Parameter Store, cached (see the module docstring)."""

    def __init__(
        self,
        path: str,
        *,
        client: Callable[[], Any],
        known_aliases: frozenset[str],
        refresh_s: float = 300.0,
        miss_refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._client_factory = client
        self._client: Any = None
        self._known = known_aliases
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._teams: dict[tuple[str, str], Team] | None = None
        self._loaded_at = float("-inf")

    def team_of(self, account_id: str, role_name: str) -> Team | None:
        now = self._clock()
        if self._teams is None or now - self._loaded_at >= self._refresh_s:
            self._reload(now)
        assert self._teams is not None
        team = self._teams.get((account_id, role_name))
        if team is None and now - self._loaded_at >= self._miss_refresh_s:
            self._reload(now)
            team = self._teams.get((account_id, role_name))
        return team

    def _reload(self, now: float) -> None:
        try:
            teams = self._read()
        except Exception as exc:  # any SSM failure: keep the last good copy
            logger.error(
                "team directory: cannot read SSM path",
                extra={"path": self.path, "error": type(exc).__name__},
            )
            if self._teams is None:
                raise TeamDirectoryUnavailable(
                    "the team directory cannot be read right now; retry later",
                    retry_after_s=5,
                ) from None
            self._loaded_at = now  # retry after the usual interval, not on every request
            return
        self._teams, self._loaded_at = teams, now

    def _read(self) -> dict[tuple[str, str], Team]:
        if self._client is None:
            self._client = self._client_factory()
        teams: dict[tuple[str, str], Team] = {}
        kwargs: dict[str, Any] = {"Path": self.path, "Recursive": True}
        while True:
            page = self._client.get_parameters_by_path(**kwargs)
            for parameter in page.get("Parameters", []):
                name = str(parameter.get("Name", ""))
                if not name.endswith(ENTRY_SUFFIX):
                    continue  # the team stacks' other parameters (role-arn, policy-arn)
                try:
                    key, team = parse_entry(str(parameter.get("Value", "")), self._known)
                except ValueError as exc:
                    logger.error(
                        "team directory: entry ignored", extra={"parameter": name, "why": str(exc)}
                    )
                    continue
                teams[key] = team
            token = page.get("NextToken")
            if not token:
                return teams
            kwargs["NextToken"] = token


def boto3_ssm(region: str) -> Callable[[], Any]:
    """A factory of the SSM client (created on first use, so init pays nothing for it)."""

    def make() -> Any:
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        return boto3.client(
            "ssm",
            region_name=region,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=3,
            ),
        )

    return make
