"""Unit tests of ``bedrock_inference.shapes``, the declarative validator behind the settings and
the request body.

What is checked:

- strictness: no coercion between JSON types (``true`` is no integer or number, ``5.0`` no
  integer, ``"5"`` neither), non-finite numbers and lone surrogates are refused;
- the exact (pydantic-worded) messages for bounds, lengths, patterns and choices;
- containers: arrays (only ``list``; tuple or list kept), maps (key and value locations) and
  records (required, extra keys after field problems, aliases, defaults, ``before`` and ``after``
  hooks, pass-through of built instances) and where each problem is reported;
- :class:`Invalid` lists every problem in document order; :class:`Frozen` values are immutable,
  compared by value and type, unhashable;
- each shape's JSON Schema (draft 4) rendering, and a property: whatever the function's request
  shape accepts, the gateway's request model (``request_json_schema``) accepts too."""

from __future__ import annotations

import math
import types
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]  # no stubs pinned
import pytest
from bedrock_inference import models
from bedrock_inference.shapes import (
    Boolean,
    Choice,
    Field,
    Frozen,
    Integer,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Problem,
    Record,
    Shape,
    Text,
    format_loc,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


def problems_of(shape: Shape, value: Any) -> list[tuple[tuple[int | str, ...], str]]:
    """Every problem ``shape`` finds in ``value``, as (loc, message), in the order reported."""
    with pytest.raises(Invalid) as caught:
        shape.validate(value)
    return [(p.loc, p.message) for p in caught.value.problems]


def only_message(shape: Shape, value: Any) -> str:
    """The one problem's message, for a value refused at the top level."""
    found = problems_of(shape, value)
    assert len(found) == 1, found
    loc, message = found[0]
    assert loc == ()
    return message


class Point(Frozen):
    __slots__ = ("x", "y")
    x: int
    y: int


class OtherPoint(Frozen):
    __slots__ = ("x", "y")
    x: int
    y: int


POINT = Record(Point, {"x": Field(Integer()), "y": Field(Integer())})


# --- strictness -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False, 5.0, "5", None, [5], {"a": 5}])
def test_integer_refuses_what_is_no_json_integer(value: Any) -> None:
    assert only_message(Integer(), value) == "Input should be a valid integer"


@pytest.mark.parametrize("value", [0, -3, 5, 10**30])
def test_integer_keeps_integers(value: int) -> None:
    out = Integer().validate(value)
    assert out == value
    assert type(out) is int


@pytest.mark.parametrize("value", [1, 1.5, 0, -2.25, 1e300])
def test_number_accepts_integers_and_floats_unchanged(value: float) -> None:
    out = Number().validate(value)
    assert out == value
    assert type(out) is type(value)


@pytest.mark.parametrize("value", [True, False, "1", None, [1.0]])
def test_number_refuses_what_is_no_json_number(value: Any) -> None:
    assert only_message(Number(), value) == "Input should be a valid number"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_number_refuses_non_finite_floats(value: float) -> None:
    assert only_message(Number(), value) == "Input should be a finite number"
    # bounds are not what refuses them: an unbounded Number refuses them all the same
    assert only_message(Number(ge=0, le=1), value) == "Input should be a finite number"


def test_number_takes_an_integer_too_large_for_a_float_by_its_bounds() -> None:
    """json.loads makes an int of a 400-digit literal; comparing it needs no float (which would
    overflow), and the bound names the problem."""
    huge = 10**400
    assert Number().validate(huge) == huge
    assert only_message(Number(le=1), huge) == "Input should be less than or equal to 1"


@pytest.mark.parametrize("value", [1, 0, "true", None, 1.0])
def test_boolean_refuses_what_is_no_json_boolean(value: Any) -> None:
    assert only_message(Boolean(), value) == "Input should be a valid boolean"


def test_boolean_keeps_booleans() -> None:
    assert Boolean().validate(True) is True
    assert Boolean().validate(False) is False


@pytest.mark.parametrize("value", [5, None, b"x", ["a"], 1.5, True])
def test_text_refuses_non_strings(value: Any) -> None:
    assert only_message(Text(), value) == "Input should be a valid string"


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\udbff"])
def test_text_refuses_lone_surrogates(value: str) -> None:
    assert only_message(Text(), value) == NOT_UNICODE
    # the surrogate check comes before the length bounds
    assert only_message(Text(max_length=0), value) == NOT_UNICODE


@pytest.mark.parametrize("value", ["", "plain", "héllo wörld", "🎉 astral \U0001f600"])
def test_text_keeps_unicode_strings(value: str) -> None:
    assert Text().validate(value) == value


# --- bounds, lengths, patterns, choices -----------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "value", "message"),
    [
        (Integer(ge=1), 0, "Input should be greater than or equal to 1"),
        (Integer(le=10), 11, "Input should be less than or equal to 10"),
        (Integer(ge=-5), -6, "Input should be greater than or equal to -5"),
        (Number(gt=0), 0, "Input should be greater than 0"),
        (Number(gt=0), -0.5, "Input should be greater than 0"),
        (Number(gt=0.5), 0.5, "Input should be greater than 0.5"),
        (Number(ge=1.0), 0.5, "Input should be greater than or equal to 1"),
        (Number(le=1), 1.0000001, "Input should be less than or equal to 1"),
        (Number(le=2.5), 3, "Input should be less than or equal to 2.5"),
    ],
)
def test_bound_messages(shape: Shape, value: float, message: str) -> None:
    assert only_message(shape, value) == message


def test_bounds_are_inclusive_or_exclusive_as_named() -> None:
    assert Integer(ge=1, le=10).validate(1) == 1
    assert Integer(ge=1, le=10).validate(10) == 10
    assert Number(ge=0, le=1).validate(0) == 0
    assert Number(ge=0, le=1).validate(1.0) == 1.0
    assert Number(gt=0).validate(1e-300) == 1e-300


def test_only_the_first_broken_bound_is_reported() -> None:
    # gt before ge before le, one problem per value
    assert problems_of(Number(gt=5, ge=6, le=1), 0) == [((), "Input should be greater than 5")]


@pytest.mark.parametrize(
    ("shape", "value", "message"),
    [
        (Text(min_length=1), "", "String should have at least 1 character"),
        (Text(min_length=2), "a", "String should have at least 2 characters"),
        (Text(max_length=1), "ab", "String should have at most 1 character"),
        (Text(max_length=3), "abcd", "String should have at most 3 characters"),
        (Text(pattern=r"^[a-z]+$"), "A", "String should match pattern '^[a-z]+$'"),
        # one problem: the length comes before the pattern
        (Text(min_length=2, pattern=r"^[a-z]+$"), "A", "String should have at least 2 characters"),
        (
            Text(after=int),
            "x",
            "Value error, invalid literal for int() with base 10: 'x'",
        ),
    ],
)
def test_text_messages(shape: Text, value: str, message: str) -> None:
    assert only_message(shape, value) == message


def test_text_lengths_count_code_points() -> None:
    assert Text(max_length=1).validate("\U0001f600") == "\U0001f600"
    assert Text(min_length=2, max_length=2).validate("é🎉") == "é🎉"


def test_text_pattern_is_searched_not_matched_whole() -> None:
    # JSON Schema's ``pattern`` is unanchored too
    assert Text(pattern="b").validate("abc") == "abc"
    assert only_message(Text(pattern="^b"), "abc") == "String should match pattern '^b'"


def test_text_after_hook_sees_the_string_and_does_not_replace_it() -> None:
    seen: list[str] = []

    def after(value: str) -> str:
        seen.append(value)
        return "ignored"

    assert Text(after=after).validate("kept") == "kept"
    assert seen == ["kept"]


def test_pattern_end_anchor_does_not_match_before_a_trailing_newline() -> None:
    assert only_message(Text(pattern=r"^a$"), "a\n") == "String should match pattern '^a$'"


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (Choice("a", "b", "c"), "Input should be 'a', 'b' or 'c'"),
        (Choice("a", "b"), "Input should be 'a' or 'b'"),
        (Choice("a"), "Input should be 'a'"),
    ],
)
@pytest.mark.parametrize("value", ["d", "A", "", 1, None, ["a"]])
def test_choice_messages(shape: Choice, message: str, value: Any) -> None:
    assert only_message(shape, value) == message


def test_choice_keeps_a_listed_value() -> None:
    assert Choice("user", "assistant").validate("assistant") == "assistant"


def test_nullable_passes_null_and_checks_anything_else() -> None:
    shape = Nullable(Integer(ge=1))
    assert shape.validate(None) is None
    assert shape.validate(3) == 3
    assert only_message(shape, 0) == "Input should be greater than or equal to 1"
    assert only_message(shape, "3") == "Input should be a valid integer"


# --- ListOf -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [("a",), (), "abc", {"a": 1}, None, 3, {"a"}])
def test_list_of_refuses_anything_but_a_list(value: Any) -> None:
    assert only_message(ListOf(Text()), value) == "Input should be a valid array"


@pytest.mark.parametrize(
    ("min_items", "value", "message"),
    [
        (1, [], "List should have at least 1 item after validation, not 0"),
        (2, ["a"], "List should have at least 2 items after validation, not 1"),
    ],
)
def test_list_of_min_items_message(min_items: int, value: list[str], message: str) -> None:
    assert only_message(ListOf(Text(), min_items=min_items), value) == message


def test_list_of_reports_each_item_at_its_index() -> None:
    assert problems_of(ListOf(Integer()), [1, "x", 3, True]) == [
        ((1,), "Input should be a valid integer"),
        ((3,), "Input should be a valid integer"),
    ]


def test_list_of_item_problems_come_without_the_min_items_one() -> None:
    assert problems_of(ListOf(Integer(), min_items=3), ["x"]) == [
        ((0,), "Input should be a valid integer")
    ]


def test_list_of_keeps_a_list_or_a_tuple() -> None:
    value = ["a", "b"]
    as_list = ListOf(Text()).validate(value)
    assert type(as_list) is list
    assert as_list == value
    as_tuple = ListOf(Text(), as_tuple=True).validate(value)
    assert type(as_tuple) is tuple
    assert as_tuple == ("a", "b")
    assert ListOf(Text(), as_tuple=True).validate([]) == ()


def test_list_of_keeps_what_its_items_become() -> None:
    out = ListOf(POINT).validate([{"x": 1, "y": 2}])
    assert out == [Point(x=1, y=2)]


# --- MapOf --------------------------------------------------------------------------------------
def test_map_of_reports_keys_at_key_marker_and_values_at_the_key() -> None:
    shape = MapOf(Text(pattern=r"^[a-z]+$"), Integer())
    assert problems_of(shape, {"ok": 1, "BAD": 2, "fine": "x", "Two": None}) == [
        (("BAD", "[key]"), "String should match pattern '^[a-z]+$'"),
        (("fine",), "Input should be a valid integer"),
        (("Two", "[key]"), "String should match pattern '^[a-z]+$'"),
        (("Two",), "Input should be a valid integer"),
    ]


def test_map_of_locations_nest_under_its_own() -> None:
    shape = Record(Point, {"x": Field(MapOf(Text(), Integer())), "y": Field(Integer())})
    assert problems_of(shape, {"x": {"k": "v"}, "y": 1}) == [
        (("x", "k"), "Input should be a valid integer")
    ]


@pytest.mark.parametrize("value", [[], "a", None, [("a", 1)]])
def test_map_of_refuses_anything_but_an_object(value: Any) -> None:
    assert only_message(MapOf(Text(), Integer()), value) == "Input should be an object"


@pytest.mark.parametrize(
    ("min_items", "value", "message"),
    [
        (1, {}, "Dictionary should have at least 1 item after validation, not 0"),
        (2, {"a": 1}, "Dictionary should have at least 2 items after validation, not 1"),
    ],
)
def test_map_of_min_items_message(min_items: int, value: dict[str, int], message: str) -> None:
    assert only_message(MapOf(Text(), Integer(), min_items=min_items), value) == message


def test_map_of_keeps_a_new_dict_of_checked_values() -> None:
    value = {"p": {"x": 1, "y": 2}}
    out = MapOf(Text(), POINT).validate(value)
    assert out == {"p": Point(x=1, y=2)}
    assert out is not value


# --- Record ---------------------------------------------------------------------------------------
def test_record_builds_its_kind() -> None:
    out = POINT.validate({"x": 1, "y": 2})
    assert type(out) is Point
    assert (out.x, out.y) == (1, 2)


def test_a_record_must_set_every_slot_of_its_kind_and_nothing_else() -> None:
    with pytest.raises(TypeError, match=r"Point: no field sets \['y'\]"):
        Record(Point, {"x": Field(Integer())})
    with pytest.raises(TypeError, match="Point has no slot 'z'"):
        Record(Point, {"x": Field(Integer()), "y": Field(Integer()), "z": Field(Integer())})


def test_record_names_every_missing_field() -> None:
    assert problems_of(POINT, {}) == [(("x",), "Field required"), (("y",), "Field required")]


def test_record_reports_extra_keys_after_the_field_problems() -> None:
    # "z" and "w" come first in the document, yet after every field's problem
    assert problems_of(POINT, {"z": 1, "w": 2, "x": "bad"}) == [
        (("x",), "Input should be a valid integer"),
        (("y",), "Field required"),
        (("z",), "Extra inputs are not permitted"),
        (("w",), "Extra inputs are not permitted"),
    ]


@pytest.mark.parametrize("value", [[], "x", None, 1, types.MappingProxyType({"x": 1, "y": 2})])
def test_record_refuses_anything_but_a_dict(value: Any) -> None:
    assert only_message(POINT, value) == "Input should be an object"


class Tagged(Frozen):
    __slots__ = ("kind_", "tags")
    kind_: str
    tags: list[str]


TAGGED = Record(
    Tagged,
    {
        "kind_": Field(Text(), alias="kind"),
        "tags": Field(ListOf(Text()), default_factory=list),
    },
)


def test_record_reads_an_aliased_field_from_its_json_key() -> None:
    out = TAGGED.validate({"kind": "a"})
    assert out.kind_ == "a"
    # the attribute's name is no JSON key: the alias is missing, the name is extra
    assert problems_of(TAGGED, {"kind_": "a"}) == [
        (("kind",), "Field required"),
        (("kind_",), "Extra inputs are not permitted"),
    ]
    assert problems_of(TAGGED, {"kind": 1}) == [(("kind",), "Input should be a valid string")]


def test_record_default_factory_runs_per_validation() -> None:
    first = TAGGED.validate({"kind": "a"})
    second = TAGGED.validate({"kind": "a"})
    assert first.tags == [] == second.tags
    assert first.tags is not second.tags


def test_record_default_factory_runs_only_when_the_key_is_missing() -> None:
    calls: list[None] = []

    def factory() -> list[str]:
        calls.append(None)
        return ["made"]

    shape = Record(
        Tagged, {"kind_": Field(Text()), "tags": Field(ListOf(Text()), default_factory=factory)}
    )
    assert shape.validate({"kind_": "a", "tags": ["given"]}).tags == ["given"]
    assert calls == []
    assert shape.validate({"kind_": "a"}).tags == ["made"]
    assert calls == [None]


def test_record_default_is_used_as_is_and_not_validated() -> None:
    sentinel = object()
    shape = Record(
        Point, {"x": Field(Integer(), default=sentinel), "y": Field(Integer(), default=None)}
    )
    out = shape.validate({})
    assert out.x is sentinel
    assert out.y is None


def test_record_before_hook_replaces_the_raw_value() -> None:
    def wrap(value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    shape = Record(Tagged, {"kind_": Field(Text()), "tags": Field(ListOf(Text()), before=wrap)})
    assert shape.validate({"kind_": "k", "tags": "one"}).tags == ["one"]
    assert shape.validate({"kind_": "k", "tags": ["a", "b"]}).tags == ["a", "b"]
    # the replaced value is what the shape checks, at the same key
    assert problems_of(shape, {"kind_": "k", "tags": [1]}) == [
        (("tags", 0), "Input should be a valid string")
    ]


def test_record_before_hook_value_error_is_a_problem_at_the_key() -> None:
    def refuse(value: Any) -> Any:
        raise ValueError(f"no {value!r} here")

    shape = Record(Tagged, {"kind_": Field(Text()), "tags": Field(ListOf(Text()), before=refuse)})
    # the shape is not checked after the hook refused (one problem), other fields still are
    assert problems_of(shape, {"kind_": 1, "tags": 5}) == [
        (("kind_",), "Input should be a valid string"),
        (("tags",), "Value error, no 5 here"),
    ]


def test_record_before_hook_does_not_run_for_a_missing_key() -> None:
    calls: list[Any] = []
    shape = Record(
        Tagged,
        {"kind_": Field(Text()), "tags": Field(ListOf(Text()), default=(), before=calls.append)},
    )
    assert shape.validate({"kind_": "k"}).tags == ()
    assert calls == []


def _ordered(point: Point) -> None:
    if point.x > point.y:
        raise ValueError("x must not exceed y")


def test_record_after_hook_runs_on_the_built_object_once_every_field_fits() -> None:
    seen: list[Point] = []
    shape = Record(Point, {"x": Field(Integer()), "y": Field(Integer())}, after=seen.append)
    assert shape.validate({"x": 1, "y": 2}) == Point(x=1, y=2)
    assert seen == [Point(x=1, y=2)]
    problems_of(shape, {"x": "bad", "y": 2})
    problems_of(shape, {"x": 1, "y": 2, "z": 3})
    assert len(seen) == 1  # not run when a field or an extra key was refused


def test_record_after_hook_reports_at_the_record_itself() -> None:
    shape = Record(Point, {"x": Field(Integer()), "y": Field(Integer())}, after=_ordered)
    assert only_message(shape, {"x": 2, "y": 1}) == "Value error, x must not exceed y"
    nested = ListOf(shape)
    assert problems_of(nested, [{"x": 1, "y": 2}, {"x": 2, "y": 1}]) == [
        ((1,), "Value error, x must not exceed y")
    ]


def test_record_passes_an_instance_of_its_kind_through_unchanged() -> None:
    built = Point(x=1, y=2)
    assert POINT.validate(built) is built
    # even one its fields would refuse: it is taken as already validated
    odd = Point(x="not an int", y=None)
    assert POINT.validate(odd) is odd
    # another Frozen kind is no instance of it
    assert only_message(POINT, OtherPoint(x=1, y=2)) == "Input should be an object"


def test_record_locations_nest_through_lists_and_records() -> None:
    outer = Record(Tagged, {"kind_": Field(Text()), "tags": Field(ListOf(POINT))})
    assert problems_of(outer, {"kind_": "k", "tags": [{"x": 1, "y": 2}, {"x": 1}, {"y": "2"}]}) == [
        (("tags", 1, "y"), "Field required"),
        (("tags", 2, "x"), "Field required"),
        (("tags", 2, "y"), "Input should be a valid integer"),
    ]


# --- Invalid, Problem, format_loc, validate -------------------------------------------------------
def test_invalid_lists_every_problem_in_document_order() -> None:
    shape = Record(
        Tagged,
        {
            "kind_": Field(Choice("a", "b")),
            "tags": Field(ListOf(MapOf(Text(min_length=1), Integer()))),
        },
    )
    with pytest.raises(Invalid) as caught:
        shape.validate({"kind_": "c", "tags": [{"a": 1}, {"": "x"}, "no"], "more": 1})
    error = caught.value
    assert isinstance(error, ValueError)
    assert [(p.loc, p.message) for p in error.problems] == [
        (("kind_",), "Input should be 'a' or 'b'"),
        (("tags", 1, "", "[key]"), "String should have at least 1 character"),
        (("tags", 1, ""), "Input should be a valid integer"),
        (("tags", 2), "Input should be an object"),
        (("more",), "Extra inputs are not permitted"),
    ]
    assert str(error) == (
        "kind_: Input should be 'a' or 'b'; "
        "tags[1]..[key]: String should have at least 1 character; "
        "tags[1].: Input should be a valid integer; "
        "tags[2]: Input should be an object; "
        "more: Extra inputs are not permitted"
    )


def test_invalid_names_a_top_level_problem_with_a_dot() -> None:
    with pytest.raises(Invalid, match=r"^\.: Input should be a valid integer$"):
        Integer().validate("x")


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        ((), ""),
        (("model",), "model"),
        (("messages", 2, "role"), "messages[2].role"),
        ((0, "a"), "[0].a"),
        (("a", 1, 2), "a[1][2]"),
        (("teams", "x", "[key]"), "teams.x.[key]"),
    ],
)
def test_format_loc(loc: tuple[int | str, ...], text: str) -> None:
    assert format_loc(loc) == text


def test_problem_repr() -> None:
    assert repr(Problem(("a", 0), "why")) == "Problem(('a', 0), 'why')"


def test_validate_returns_the_kept_value() -> None:
    text = "same"
    assert Text().validate(text) is text
    assert Integer().validate(7) == 7
    assert Nullable(Text()).validate(None) is None
    assert POINT.validate({"x": 0, "y": 0}) == Point(x=0, y=0)


def test_base_shape_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Shape().validate(1)
    with pytest.raises(NotImplementedError):
        Shape().json_schema()


# --- Frozen ---------------------------------------------------------------------------------------
def test_frozen_is_immutable() -> None:
    point = Point(x=1, y=2)
    with pytest.raises(AttributeError, match="Point is immutable"):
        point.x = 3
    with pytest.raises(AttributeError, match="Point is immutable"):
        point.z = 3
    with pytest.raises(AttributeError, match="Point is immutable"):
        del point.x
    assert (point.x, point.y) == (1, 2)


def test_frozen_compares_by_value_and_type() -> None:
    assert Point(x=1, y=2) == Point(x=1, y=2)
    assert Point(x=1, y=2) != Point(x=1, y=3)
    assert Point(x=1, y=2) != OtherPoint(x=1, y=2)
    assert Point(x=1, y=2) != (1, 2)
    assert Point(x=[1], y={"a": 2}) == Point(x=[1], y={"a": 2})


def test_frozen_is_unhashable() -> None:
    point = Point(x=1, y=2)
    with pytest.raises(TypeError):
        hash(point)
    with pytest.raises(TypeError):
        {point}  # noqa: B018


def test_frozen_repr_names_every_field() -> None:
    assert repr(Point(x=1, y="two")) == "Point(x=1, y='two')"


def test_frozen_refuses_a_missing_field() -> None:
    with pytest.raises(TypeError, match=r"Point: missing field 'y'"):
        Point(x=1)


def test_frozen_refuses_an_unknown_keyword() -> None:
    with pytest.raises(TypeError, match=r"Point: unknown fields \['z'\]"):
        Point(x=1, y=2, z=3)


# --- JSON Schema (draft 4) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "schema"),
    [
        (Text(), {"type": "string"}),
        (
            Text(min_length=1, max_length=5, pattern="^a", description="an a"),
            {
                "type": "string",
                "description": "an a",
                "minLength": 1,
                "maxLength": 5,
                "pattern": "^a",
            },
        ),
        (Integer(), {"type": "integer"}),
        (Integer(ge=1, le=10), {"type": "integer", "minimum": 1, "maximum": 10}),
        (Number(gt=0), {"type": "number", "minimum": 0, "exclusiveMinimum": True}),
        (Number(ge=0, le=1), {"type": "number", "minimum": 0, "maximum": 1}),
        (
            Number(gt=0, le=900),
            {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 900},
        ),
        (Boolean(), {"type": "boolean"}),
        (Choice("a", "b"), {"enum": ["a", "b"], "type": "string"}),
        (Nullable(Integer(ge=1)), {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}),
        (ListOf(Text()), {"items": {"type": "string"}, "type": "array"}),
        (
            ListOf(Text(), min_items=1),
            {"items": {"type": "string"}, "type": "array", "minItems": 1},
        ),
        (MapOf(Text(), Integer()), {"additionalProperties": {"type": "integer"}, "type": "object"}),
        (
            MapOf(Text(), Integer(), min_items=1),
            {"additionalProperties": {"type": "integer"}, "type": "object", "minProperties": 1},
        ),
    ],
)
def test_json_schema_of_each_shape(shape: Shape, schema: dict[str, Any]) -> None:
    assert shape.json_schema() == schema
    jsonschema.Draft4Validator.check_schema(schema)


def test_exclusive_minimum_means_the_same_to_draft_4_validators() -> None:
    validator = jsonschema.Draft4Validator(Number(gt=0, le=1).json_schema())
    assert not validator.is_valid(0)
    assert validator.is_valid(0.1)
    assert validator.is_valid(1)
    assert not validator.is_valid(1.1)


def test_record_json_schema() -> None:
    shape = Record(
        Tagged,
        {
            "kind_": Field(Text(), alias="kind"),
            "tags": Field(
                ListOf(Text()),
                default=(),
                before=lambda v: v,
                schema=lambda: {"anyOf": [{"type": "string"}, {"type": "array"}]},
            ),
        },
        schema_extra={"title": "Tagged", "minProperties": 1},
    )
    assert shape.json_schema() == {
        "additionalProperties": False,
        "title": "Tagged",
        "minProperties": 1,
        "properties": {
            "kind": {"type": "string"},
            "tags": {"anyOf": [{"type": "string"}, {"type": "array"}]},
        },
        "required": ["kind"],
        "type": "object",
    }
    jsonschema.Draft4Validator.check_schema(shape.json_schema())


def test_record_json_schema_lists_no_required_when_every_field_has_a_default() -> None:
    schema = Record(
        Point, {"x": Field(Integer(), default=0), "y": Field(Integer(), default_factory=int)}
    ).json_schema()
    assert "required" not in schema
    assert schema["properties"] == {"x": {"type": "integer"}, "y": {"type": "integer"}}
    assert schema["additionalProperties"] is False


def test_request_json_schema_is_a_valid_draft_4_schema() -> None:
    schema = models.request_json_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["title"] == "ConverseRequest"
    assert schema["required"] == ["model", "messages"]


# --- the gateway never refuses what the function accepts ------------------------------------------
REQUEST_SCHEMA = jsonschema.Draft4Validator(models.request_json_schema())
KEY_NAMES = [
    "model",
    "messages",
    "system",
    "inferenceConfig",
    "role",
    "content",
    "text",
    "image",
    "document",
    "format",
    "source",
    "bytes",
    "name",
    "maxTokens",
    "temperature",
    "topP",
    "stopSequences",
]
short_text = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["", " ", "\u200b", "\ud800", "user", "assistant", "png", "pdf", "doc 1"]),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(),
    st.floats(),
    short_text,
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEY_NAMES), inner, max_size=4),
    ),
    max_leaves=20,
)


def _rarely(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` nine times in ten, ``other`` the tenth: most examples stay close to a valid
    request, so the function accepts a good share of them and the property is not vacuous."""
    return st.integers(0, 9).flatmap(lambda n: other if n == 9 else usual)


def _or_arbitrary(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _rarely(strategy, json_values)


def _object(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Any]:
    """An object of these keys; rarely one key (known or not) set to an arbitrary value, rarely
    not an object at all."""
    plain = st.fixed_dictionaries(required, optional=optional or {})
    odd_key = st.dictionaries(st.sampled_from([*KEY_NAMES, "extra"]), json_values, max_size=1)
    return _or_arbitrary(
        _rarely(plain, st.tuples(plain, odd_key).map(lambda pair: {**pair[0], **pair[1]}))
    )


words = _rarely(st.text(min_size=1, max_size=6), short_text)
_source = _object({"bytes": words})
_block = st.one_of(
    _object({"text": words}),
    _object(
        {
            "image": _object(
                {"format": _or_arbitrary(st.sampled_from(models.IMAGE_FORMATS)), "source": _source}
            )
        }
    ),
    _object(
        {
            "document": _object(
                {
                    "format": _or_arbitrary(st.sampled_from(models.DOCUMENT_FORMATS)),
                    "name": _or_arbitrary(st.sampled_from(["doc", "a b", "r(1)-[2]"])),
                    "source": _source,
                }
            )
        }
    ),
)
_unit = st.one_of(st.none(), st.floats(min_value=-0.5, max_value=1.5), st.integers(-1, 2))
_message = _object(
    {
        "role": _or_arbitrary(st.sampled_from(["user", "assistant"])),
        "content": _or_arbitrary(st.one_of(words, st.lists(_block, min_size=1, max_size=3))),
    }
)
request_like = _object(
    {"model": words, "messages": _or_arbitrary(st.lists(_message, min_size=1, max_size=3))},
    {
        "system": st.one_of(st.none(), short_text),
        "inferenceConfig": _object(
            {},
            {
                "maxTokens": st.one_of(st.none(), st.integers(-1, 5)),
                "temperature": _unit,
                "topP": _unit,
                "stopSequences": st.one_of(st.none(), st.lists(words, max_size=2)),
            },
        ),
    },
)


# Arbitrary JSON almost never fits the request, so three examples in four are request-like
# (about 40 % of all examples are accepted by the function, measured when this was written).
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(json_values, request_like, request_like, request_like))
def test_the_gateway_accepts_whatever_the_function_accepts(value: Any) -> None:
    try:
        models.CONVERSE_REQUEST.validate(value)
    except Invalid:
        return
    errors = [e.message for e in REQUEST_SCHEMA.iter_errors(value)]
    assert not errors, (value, errors)


def test_a_null_member_beside_another_is_refused_by_the_function_and_the_gateway() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"text": "hi", "image": None}]}],
    }
    with pytest.raises(Invalid) as caught:
        models.CONVERSE_REQUEST.validate(body)
    assert [(p.loc, p.message) for p in caught.value.problems] == [
        (("messages", 0, "content", 0, "image"), "Input should be an object")
    ]
    assert not REQUEST_SCHEMA.is_valid(body)
