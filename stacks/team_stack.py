"""One team (team vending): role, policy, profiles, budget, directory entry, dashboard, alarm."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from bedrock_landing_zone.audit.budgets import TeamBudgets
from bedrock_landing_zone.config import LandingZoneConfig, TeamConfig
from bedrock_landing_zone.governance.guardrail import LandingZoneGuardrail
from bedrock_landing_zone.governance.teams import TeamAccess, shared_parameter_names
from bedrock_landing_zone.observability.monitoring import TeamObservability


class TeamStack(cdk.Stack):
    """``bedrock-lz-<env>-team-<team>``: everything that belongs to one team.

    It reads what it shares with the other stacks through their SSM parameters (the guardrail,
    the key, the alert topic, the inference API id), resolved at deploy
    time, so no shared template names a team and adding, changing or removing a team changes
    this stack only. Deploy it after the shared stacks (the app adds the dependencies).

    Attributes:
        access: the ``TeamAccess`` (role, policy, application inference profiles).
        budgets: the team's ``TeamBudgets`` (empty without ``monthly_budget_usd``).
        observability: the ``TeamObservability`` (dashboard, alarm).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        team: TeamConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = shared_parameter_names(config.name)

        def shared(name: str) -> str:
            return ssm.StringParameter.value_for_string_parameter(self, names[name])

        key = kms.Key.from_key_arn(self, "LandingZoneKey", shared("key_arn"))
        topic = sns.Topic.from_topic_arn(self, "AlertTopic", shared("topic_arn"))
        self.access = TeamAccess(
            self,
            "Access",
            env_name=config.name,
            team=team,
            models=config.team_models(team),
            cost_center=team.cost_center or config.tags.cost_center,
            guardrail=LandingZoneGuardrail.from_ssm_parameters(self, config.name, pinned=False),
            key=key,
            api_id=shared("api_id") if config.inference.enabled else None,
        )
        self.budgets = TeamBudgets(
            self,
            "Budget",
            env_name=config.name,
            teams=[team],
            config=config.budgets,
            topic=topic,
        )
        self.observability = TeamObservability(
            self,
            "Observability",
            env_name=config.name,
            team=team.name,
            aliases=list(team.models),
            settings=config.observability,
            topic=topic,
        )
