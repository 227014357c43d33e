"""Who may call which model: model access grants, the guardrail, team access (roles, policies,
boundaries), cost allocation, model access automation and the organisation policies (SCPs,
Bedrock policies). Imports ``config``, ``compliance`` and ``base``."""
