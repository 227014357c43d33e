"""Model invocation logging, the alert topic and budgets."""
