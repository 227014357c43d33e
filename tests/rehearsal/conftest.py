"""Fixtures of the rehearsal's tests that talk to moto in this process."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def moto_session() -> Any:
    """One boto3 session (us-east-1) for a test module's moto calls: its loader parses each
    service's model and the endpoint data once. ``mock_aws`` drops boto3's default session, so
    ``boto3.client`` inside it made a new session that parsed them again at every call (~0.1 s
    each); each test still opens its own ``mock_aws`` and makes its own clients. moto is imported
    first: a botocore session takes moto's request hook (``mock_aws`` answers through it) from
    the handlers registered when the session is made, and moto registers it when imported."""
    import boto3
    import moto  # noqa: F401

    return boto3.session.Session(region_name="us-east-1")
