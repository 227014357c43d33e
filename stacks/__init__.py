"""Stacks of the landing zone. Each only composes constructs from ``bedrock_landing_zone``."""

from bedrock_landing_zone.stacks.governance_stack import GovernanceStack
from bedrock_landing_zone.stacks.network_stack import NetworkStack
from bedrock_landing_zone.stacks.organization_stack import OrganizationStack

__all__ = ["GovernanceStack", "NetworkStack", "OrganizationStack"]
