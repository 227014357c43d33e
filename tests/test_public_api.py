"""The documented public API: every name resolves, importing the package stays light."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from constructs import Construct

import bedrock_landing_zone
from tests.imports import packages_loaded


def test_every_public_name_resolves() -> None:
    for name in bedrock_landing_zone.__all__:
        assert getattr(bedrock_landing_zone, name) is not None, name
    assert bedrock_landing_zone.__version__.count(".") == 2  # semantic version


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        bedrock_landing_zone.DoesNotExist  # noqa: B018
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_start_the_cdk_runtime() -> None:
    code = "import bedrock_landing_zone, bedrock_landing_zone.config"
    assert packages_loaded(code, ("aws_cdk",)) == []


def _package_types(annotation: Any, found: set[type]) -> None:
    """The classes of this package named anywhere in a type annotation (``Sequence[X] | None``)."""
    if isinstance(annotation, type):
        if annotation.__module__.split(".")[0] == "bedrock_landing_zone":
            found.add(annotation)
        return
    for argument in typing.get_args(annotation):
        _package_types(argument, found)


def _signatures_other_teams_call() -> dict[str, Callable[..., Any]]:
    """What another team calls: each public construct's constructor and its ``from_*`` import
    helpers, and each public function."""
    calls: dict[str, Callable[..., Any]] = {}
    for name in bedrock_landing_zone.__all__:
        value = getattr(bedrock_landing_zone, name)
        if inspect.isclass(value) and issubclass(value, Construct):
            calls[f"{name}()"] = value.__init__
            for attribute, member in vars(value).items():
                if attribute.startswith("from_") and isinstance(member, staticmethod):
                    calls[f"{name}.{attribute}()"] = member.__func__
        elif inspect.isfunction(value):
            calls[f"{name}()"] = value
    return calls


def test_every_type_a_public_construct_takes_or_returns_is_public() -> None:
    """A documented example never needs a private import: the props of every public construct
    (``NetworkConfig`` for ``PrivateNetwork``, ``TeamAccessSpec`` for the inference function)
    and what its import helpers return (``NetworkReference``) are exported too."""
    calls = _signatures_other_teams_call()
    assert "PrivateNetwork.from_ssm_parameters()" in calls
    assert "LandingZoneGuardrail.from_ssm_parameters()" in calls
    private: dict[str, list[str]] = {}
    for label, function in calls.items():
        found: set[type] = set()
        for annotation in typing.get_type_hints(function).values():
            _package_types(annotation, found)
        for cls in found:
            if getattr(bedrock_landing_zone, cls.__name__, None) is not cls:
                private.setdefault(f"{cls.__module__}.{cls.__name__}", []).append(label)
    assert private == {}, "export these from bedrock_landing_zone/__init__.py"


def test_the_check_sees_a_private_prop_type() -> None:
    """The check above can fail: a construct whose prop type is not exported is reported."""
    from bedrock_landing_zone.observability.monitoring import ModelGroup

    found: set[type] = set()
    _package_types(ModelGroup | None, found)
    assert found == {ModelGroup}
    assert getattr(bedrock_landing_zone, "ModelGroup", None) is None
