"""``bedrock-lz`` and its commands (doctor, invoke, serve)."""
