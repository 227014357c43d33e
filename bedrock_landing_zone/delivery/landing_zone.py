"""Composition of the landing zone: which stacks exist, in which order, wired how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from constructs import Construct

from bedrock_landing_zone.compliance import add_compliance_packs
from bedrock_landing_zone.config import LandingZoneConfig

# The stacks live in the top-level folder stacks/, which the wheel and the editable install map to
# bedrock_landing_zone.stacks (pyproject.toml, package-dir). mypy does not follow setuptools'
# editable finder, so it reads the same files under their folder's name.
if TYPE_CHECKING:
    from stacks.audit_stack import AuditStack
    from stacks.governance_stack import GovernanceStack
    from stacks.inference_stack import InferenceStack
    from stacks.network_stack import NetworkStack
    from stacks.observability_stack import ObservabilityStack
    from stacks.organization_stack import OrganizationStack
    from stacks.team_stack import TeamStack
else:
    from bedrock_landing_zone.stacks.audit_stack import AuditStack
    from bedrock_landing_zone.stacks.governance_stack import GovernanceStack
    from bedrock_landing_zone.stacks.inference_stack import InferenceStack
    from bedrock_landing_zone.stacks.network_stack import NetworkStack
    from bedrock_landing_zone.stacks.observability_stack import ObservabilityStack
    from bedrock_landing_zone.stacks.organization_stack import OrganizationStack
    from bedrock_landing_zone.stacks.team_stack import TeamStack

__all__ = ["LandingZoneStacks", "LandingZoneStage", "add_landing_zone", "environment_of"]


@dataclass(frozen=True)
class LandingZoneStacks:
    """The stacks of one environment, for wiring and tests."""

    governance: GovernanceStack
    network: NetworkStack
    audit: AuditStack
    inference: InferenceStack | None = None
    observability: ObservabilityStack | None = None
    organization: OrganizationStack | None = None
    #: team name -> its ``TeamStack`` (``bedrock-lz-<env>-team-<team>``)
    teams: dict[str, TeamStack] = field(default_factory=dict)

    def shared(self) -> list[cdk.Stack]:
        """The stacks every team shares (all but the team stacks)."""
        return [s for s in self.all() if not isinstance(s, TeamStack)]

    def all(self) -> list[cdk.Stack]:
        stacks: list[cdk.Stack | None] = [
            self.governance,
            self.network,
            self.audit,
            self.inference,
            self.observability,
            self.organization,
            *self.teams.values(),
        ]
        return [s for s in stacks if s is not None]


def environment_of(config: LandingZoneConfig) -> cdk.Environment:
    """The CDK environment: explicit when ``account`` is set, region-only otherwise."""
    return cdk.Environment(account=config.account, region=config.region)


def add_landing_zone(scope: Construct, config: LandingZoneConfig) -> LandingZoneStacks:
    """Add every stack of one environment to ``scope`` (an ``App`` or a ``Stage``).

    Stack names are ``bedrock-lz-<env>-<unit>`` whatever the scope, so the laptop path
    (``cdk deploy --all``) and a pipeline stage deploy the same CloudFormation stacks.
    """
    common: dict[str, Any] = {"env": environment_of(config)}

    def name(unit: str) -> str:
        return f"bedrock-lz-{config.name}-{unit}"

    governance = GovernanceStack(
        scope,
        "Governance",
        config=config,
        stack_name=name("governance"),
        description="Bedrock landing zone: key, model access governance, guardrails",
        **common,
    )
    network = NetworkStack(
        scope,
        "Network",
        config=config,
        key=governance.key,
        model_access=governance.model_access,
        stack_name=name("network"),
        description="Bedrock landing zone: private VPC, interface endpoints, flow logs",
        **common,
    )
    audit = AuditStack(
        scope,
        "Audit",
        config=config,
        key=governance.key,
        stack_name=name("audit"),
        description="Bedrock landing zone: invocation logging, alerts",
        **common,
    )
    inference = None
    if config.inference.enabled:
        inference = InferenceStack(
            scope,
            "Inference",
            config=config,
            governance=governance,
            network=network,
            stack_name=name("inference"),
            description="Bedrock landing zone: guarded inference function and private API",
            **common,
        )
    observability = ObservabilityStack(
        scope,
        "Observability",
        config=config,
        governance=governance,
        audit=audit,
        inference=inference,
        stack_name=name("observability"),
        description="Bedrock landing zone: dashboard and alarms from the model allow-list",
        **common,
    )
    organization = None
    if config.organization_policies is not None:
        organization = OrganizationStack(
            scope,
            "Organization",
            config=config,
            stack_name=name("organization"),
            description="Bedrock landing zone: service control policies from the model allow-list",
            env=cdk.Environment(
                account=config.organization_policies.management_account, region=config.region
            ),
        )
    teams: dict[str, TeamStack] = {}
    for team in config.teams:
        label = "".join(part.capitalize() for part in team.name.split("-"))
        team_stack = TeamStack(
            scope,
            f"Team{label}",
            config=config,
            team=team,
            stack_name=name(f"team-{team.name}"),
            description=f"Bedrock landing zone: team {team.name} (role, profiles, budget)",
            **common,
        )
        # it reads the shared stacks' SSM parameters at deploy time: deploy them first
        for producer in (governance, audit, *([inference] if inference else [])):
            team_stack.add_stack_dependency(producer)
        teams[team.name] = team_stack
    stacks = LandingZoneStacks(
        governance=governance,
        network=network,
        audit=audit,
        inference=inference,
        observability=observability,
        organization=organization,
        teams=teams,
    )
    tags = {
        "Environment": config.name,
        "Owner": config.tags.owner,
        "CostCenter": config.tags.cost_center,
        **config.tags.extra,
    }
    for stack in stacks.all():
        stack_tags = cdk.Tags.of(stack)
        for key, value in tags.items():
            stack_tags.add(key, value)
    return stacks


class LandingZoneStage(cdk.Stage):
    """One environment of the landing zone as a ``cdk.Stage`` (pipelines, other teams' apps).

    The five cdk-nag packs are registered on the stage itself unless an enclosing App or Stage
    already has them, so the stage is checked wherever it is used (a pipeline, another app).

    Attributes:
        config: the environment's configuration.
        stacks: the ``LandingZoneStacks``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LandingZoneConfig,
        compliance_packs: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("env", environment_of(config))
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        if compliance_packs:
            add_compliance_packs(self)
        self.stacks = add_landing_zone(self, config)
