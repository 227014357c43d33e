"""Test-only IAM tooling: a strict policy evaluator and a policy linter (see the modules)."""
