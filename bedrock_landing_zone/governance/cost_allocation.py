"""Application inference profiles of one team, one per model, tagged for cost allocation."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from bedrock_landing_zone.config import TeamConfig
from bedrock_landing_zone.governance.model_access import ModelAccess

__all__ = ["CostAllocation", "profile_name"]


def profile_name(env_name: str, team: str, alias: str) -> str:
    """``bedrock-lz-<env>-<team>-<alias>`` (config validation keeps it within Bedrock's limits)."""
    return f"bedrock-lz-{env_name}-{team}-{alias}"


class CostAllocation(Construct):
    """For each model of ``model_access`` (the team's): an application inference profile.

    The profile copies the allow-listed model (or cross-region profile) and carries the tags
    ``Team`` and ``CostCenter`` (the team's, else the environment's), so Bedrock usage through it
    shows up per team in Cost Explorer and in the team's budget; the ``Team`` tag is also what
    the shared boundary's attribute-based statement matches. The profiles are registered with
    ``model_access`` (``add_application_inference_profile``), so the team's grant includes them.

    Attributes:
        profiles: alias -> ``CfnApplicationInferenceProfile``.
        profile_arns: alias -> the profile's ARN (its ``attr_inference_profile_arn`` token, read
            once: every read is a round trip to the CDK's Node.js process).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        team: TeamConfig,
        cost_center: str,
        model_access: ModelAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self.profiles: dict[str, bedrock.CfnApplicationInferenceProfile] = {}
        self.profile_arns: dict[str, str] = {}
        for alias, model in model_access.models.items():
            if not model.guardrail:
                continue  # called directly (no guardrail): no profile, no budget tag
            label = "".join(p.capitalize() for p in alias.split("-"))
            source = model_access.model_arns(alias)[0]
            profile = bedrock.CfnApplicationInferenceProfile(
                self,
                label,
                inference_profile_name=profile_name(env_name, team.name, alias),
                description=f"{alias} for team {team.name} cost allocation",
                model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                    copy_from=source
                ),
            )
            # above the environment-wide tags (priority 100), so the team's cost centre wins
            tags = cdk.Tags.of(profile)
            tags.add("Team", team.name, priority=200)
            tags.add("CostCenter", cost_center, priority=200)
            self.profiles[alias] = profile
            self.profile_arns[alias] = profile.attr_inference_profile_arn
            model_access.add_application_inference_profile(
                alias, self.profile_arns[alias], team=team.name
            )
