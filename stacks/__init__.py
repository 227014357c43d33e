"""Stacks of the landing zone. Each only composes constructs from ``bedrock_landing_zone``."""

from .governance_stack import GovernanceStack
from .network_stack import NetworkStack
from .organization_stack import OrganizationStack

__all__ = ["GovernanceStack", "NetworkStack", "OrganizationStack"]
