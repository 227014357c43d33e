"""IAM roles whose permissions live in customer-managed policies, never inline.

NIST 800-53, HIPAA and PCI packs reject inline policies (``AWS::IAM::Policy`` and a role's
``Policies``): they cannot be reviewed, versioned or reattached on their own. CDK grants add
statements to a role's inline "DefaultPolicy"; ``ManagedPolicyRole`` sends every such statement
to one customer-managed policy attached to the role instead, so grants keep working unchanged.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["ManagedPolicyRole"]


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` whose grants land in an attached customer-managed policy.

    The policy (construct id ``Permissions``) is created on the first grant, so a role without
    grants has no empty policy. All ``iam.Role`` props apply; AWS-managed policies are not
    added here: pass explicit least-privilege grants instead.

    Attributes:
        permissions: the ``iam.ManagedPolicy`` holding the grants (``None`` until the first one).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.permissions: iam.ManagedPolicy | None = None

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        if self.permissions is None:
            self.permissions = iam.ManagedPolicy(
                self,
                "Permissions",
                description=f"Least-privilege grants of role {self.node.path}"[:1000],
                roles=[self],
            )
        self.permissions.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self.permissions
        )

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added
