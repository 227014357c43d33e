"""Declarative shapes of JSON input: one definition both validates and renders JSON Schema.

The function's settings and request bodies are described once, as shapes (:class:`Text`,
:class:`Integer`, :class:`Record`...). A shape checks a value parsed from JSON *strictly* (no
coercion: ``"5"`` is not an integer, ``true`` is not a number, ``5.0`` is not an integer) and
collects every problem with its location; :meth:`Shape.json_schema` renders the same rules as
JSON Schema draft 4, the dialect of API Gateway's request models (API Gateway developer guide,
"Data models for REST APIs"), so the gateway's validator and this function's cannot drift apart.

Why not pydantic, which the landing zone's own config uses: importing it is 236 M instructions
in a fresh interpreter, a quarter of what ``import boto3`` and a bedrock-runtime client cost
(909 M), and issue 17 gives the whole handler 15 % over that. These shapes cost nothing to
import beyond their own code and validate a request in plain Python. The wording of the messages
is pydantic's for JSON input ("Field required", "Input should be a valid integer", "Input should
be an object"...), which the API's callers and the tests already know.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

Loc = tuple[int | str, ...]

#: A Python string may hold a lone surrogate (``json.loads('"\\ud800"')`` makes one); it is no
#: Unicode text and cannot be encoded to UTF-8 for Bedrock.
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


class Problem:
    """One reason a value was refused: where (a path of keys and indexes) and why."""

    __slots__ = ("loc", "message")

    def __init__(self, loc: Loc, message: str) -> None:
        self.loc = loc
        self.message = message

    def __repr__(self) -> str:
        return f"Problem({self.loc!r}, {self.message!r})"


class Invalid(ValueError):
    """A value does not fit its shape; ``problems`` lists every reason, in document order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:  # written when shown: a request's 400 uses the first problem only
        return "; ".join(f"{format_loc(p.loc) or '.'}: {p.message}" for p in self.problems)


def format_loc(loc: Loc) -> str:
    """``('messages', 2, 'role')`` → ``messages[2].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _passes(check: Callable[[Any], object], value: Any, loc: Loc, problems: list[Problem]) -> bool:
    """Run an ``after`` check; a ``ValueError``'s text becomes the problem, as pydantic words a
    validator's ("Value error, ...")."""
    try:
        check(value)
    except ValueError as exc:
        problems.append(Problem(loc, f"Value error, {exc}"))
        return False
    return True


class Shape:
    """What a JSON value must look like. ``check`` returns the value to keep (a record becomes
    its class) or appends to ``problems`` and returns None.

    Plain classes with ``__slots__``, not dataclasses: ``@dataclass`` generates and compiles code
    for each class, about 1 ms apiece at cold start.
    """

    __slots__ = ()

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, value: Any) -> Any:
        """``value`` as this shape keeps it; :class:`Invalid` listing every problem."""
        problems: list[Problem] = []
        out = self.check(value, (), problems)
        if problems:
            raise Invalid(problems)
        return out


class Text(Shape):
    """A string. ``after`` checks it last (a ``ValueError``'s text becomes the problem, as
    "Value error, ...")."""

    __slots__ = ("after", "description", "max_length", "min_length", "pattern")

    def __init__(
        self,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        after: Callable[[str], object] | None = None,
        description: str | None = None,
    ) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self.after = after
        self.description = description

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if not isinstance(value, str):
            problems.append(Problem(loc, "Input should be a valid string"))
            return None
        if not value.isascii() and _SURROGATE.search(value):  # isascii() reads a flag: O(1)
            problems.append(Problem(loc, _NOT_UNICODE))
            return None
        if self.min_length is not None and len(value) < self.min_length:
            problems.append(
                Problem(loc, f"String should have at least {_plural(self.min_length, 'character')}")
            )
            return None
        if self.max_length is not None and len(value) > self.max_length:
            problems.append(
                Problem(loc, f"String should have at most {_plural(self.max_length, 'character')}")
            )
            return None
        if self.pattern is not None and not _compiled(self.pattern).search(value):
            problems.append(Problem(loc, f"String should match pattern '{self.pattern}'"))
            return None
        if self.after is not None and not _passes(self.after, value, loc, problems):
            return None
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.description is not None:
            out["description"] = self.description
        if self.min_length is not None:
            out["minLength"] = self.min_length
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    """Patterns compile on their first use: a shape that never sees a value costs nothing.

    A final ``$`` is compiled as ``\\Z``: in Python's ``re`` a ``$`` also matches before a
    trailing newline, in the ECMA-262 dialect that JSON Schema draft 4 names for ``pattern``
    only at the end, so ``^a$`` refuses ``"a\\n"`` here as the schema does."""
    found = _PATTERNS.get(pattern)
    if found is None:
        source = pattern
        if pattern.endswith("$") and not pattern.endswith("\\$"):
            source = pattern[:-1] + "\\Z"
        found = _PATTERNS[pattern] = re.compile(source)
    return found


class Integer(Shape):
    """A JSON integer (not ``true``, not ``5.0``)."""

    __slots__ = ("ge", "le")

    def __init__(self, *, ge: int | None = None, le: int | None = None) -> None:
        self.ge = ge
        self.le = le

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not int:  # bool is an int subclass and no integer here
            problems.append(Problem(loc, "Input should be a valid integer"))
            return None
        return _bounds(value, loc, problems, None, self.ge, self.le)

    def json_schema(self) -> dict[str, Any]:
        return _bounds_schema({"type": "integer"}, None, self.ge, self.le)


class Number(Shape):
    """A JSON number (an integer is one too), finite."""

    __slots__ = ("ge", "gt", "le")

    def __init__(
        self, *, gt: float | None = None, ge: float | None = None, le: float | None = None
    ) -> None:
        self.gt = gt
        self.ge = ge
        self.le = le

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not float and type(value) is not int:
            problems.append(Problem(loc, "Input should be a valid number"))
            return None
        # an int is finite, and too large for math.isfinite (OverflowError past ~1e308)
        if type(value) is float and not math.isfinite(value):
            problems.append(Problem(loc, "Input should be a finite number"))
            return None
        return _bounds(value, loc, problems, self.gt, self.ge, self.le)

    def json_schema(self) -> dict[str, Any]:
        return _bounds_schema({"type": "number"}, self.gt, self.ge, self.le)


def _bounds(
    value: float,
    loc: Loc,
    problems: list[Problem],
    gt: float | None,
    ge: float | None,
    le: float | None,
) -> Any:
    if gt is not None and not value > gt:
        problems.append(Problem(loc, f"Input should be greater than {_number(gt)}"))
        return None
    if ge is not None and not value >= ge:
        problems.append(Problem(loc, f"Input should be greater than or equal to {_number(ge)}"))
        return None
    if le is not None and not value <= le:
        problems.append(Problem(loc, f"Input should be less than or equal to {_number(le)}"))
        return None
    return value


def _bounds_schema(
    out: dict[str, Any], gt: float | None, ge: float | None, le: float | None
) -> dict[str, Any]:
    # Draft 4 writes an exclusive bound as the bound plus a boolean flag.
    if gt is not None:
        out["minimum"] = gt
        out["exclusiveMinimum"] = True
    if ge is not None:
        out["minimum"] = ge
    if le is not None:
        out["maximum"] = le
    return out


class Boolean(Shape):
    __slots__ = ()

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not bool:
            problems.append(Problem(loc, "Input should be a valid boolean"))
            return None
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Choice(Shape):
    """One of a few strings."""

    __slots__ = ("values",)

    def __init__(self, *values: str) -> None:
        self.values = values

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not str or value not in self.values:
            quoted = [f"'{v}'" for v in self.values]
            listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
            problems.append(Problem(loc, f"Input should be {listed}"))
            return None
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.values), "type": "string"}


class Nullable(Shape):
    """``null`` or the inner shape."""

    __slots__ = ("inner",)

    def __init__(self, inner: Shape) -> None:
        self.inner = inner

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        return None if value is None else self.inner.check(value, loc, problems)

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [self.inner.json_schema(), {"type": "null"}]}


def _too_few(kind: str, least: int | None, count: int, loc: Loc, problems: list[Problem]) -> bool:
    if least is None or count >= least:
        return False
    message = f"{kind} should have at least {_plural(least, 'item')} after validation, not {count}"
    problems.append(Problem(loc, message))
    return True


class ListOf(Shape):
    """A JSON array; kept as a tuple (settings, immutable) or a list (a request's parts)."""

    __slots__ = ("as_tuple", "item", "min_items")

    def __init__(
        self, item: Shape, *, min_items: int | None = None, as_tuple: bool = False
    ) -> None:
        self.item = item
        self.min_items = min_items
        self.as_tuple = as_tuple

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not list:
            problems.append(Problem(loc, "Input should be a valid array"))
            return None
        before = len(problems)
        out = [self.item.check(item, (*loc, index), problems) for index, item in enumerate(value)]
        if len(problems) != before:
            return None
        if _too_few("List", self.min_items, len(out), loc, problems):
            return None
        return tuple(out) if self.as_tuple else out

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"items": self.item.json_schema(), "type": "array"}
        if self.min_items is not None:
            out["minItems"] = self.min_items
        return out


class MapOf(Shape):
    """A JSON object used as a map: every key fits ``key``, every value ``value``."""

    __slots__ = ("key", "min_items", "value")

    def __init__(self, key: Text, value: Shape, *, min_items: int | None = None) -> None:
        self.key = key
        self.value = value
        self.min_items = min_items

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not dict:
            problems.append(Problem(loc, "Input should be an object"))
            return None
        before = len(problems)
        out = {}
        for key, item in value.items():
            checked_key = self.key.check(key, (*loc, key, "[key]"), problems)
            out[checked_key] = self.value.check(item, (*loc, key), problems)
        if len(problems) != before:
            return None
        if _too_few("Dictionary", self.min_items, len(out), loc, problems):
            return None
        return out

    def json_schema(self) -> dict[str, Any]:
        # Draft 4 cannot constrain a map's keys beyond patterns (propertyNames is draft 6).
        out: dict[str, Any] = {"additionalProperties": self.value.json_schema(), "type": "object"}
        if self.min_items is not None:
            out["minProperties"] = self.min_items
        return out


_MISSING: Any = object()


class Field:
    """One key of a :class:`Record`. Without ``default`` or ``default_factory`` it is required.

    ``alias``: the key in the JSON object, when it differs from the attribute's name. ``before``
    runs on the raw value first and may replace it (a ``ValueError`` is a problem at the key);
    ``schema`` makes what the JSON Schema says the key accepts, when ``before`` widens it."""

    __slots__ = ("alias", "before", "default", "default_factory", "required", "schema", "shape")

    def __init__(
        self,
        shape: Shape,
        *,
        default: Any = _MISSING,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        before: Callable[[Any], Any] | None = None,
        schema: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.shape = shape
        self.default = default
        self.default_factory = default_factory
        self.alias = alias
        self.before = before
        self.schema = schema
        self.required = default is _MISSING and default_factory is None


def _setter(kind: type, name: str) -> Callable[[Any, Any], None]:
    """Sets attribute ``name`` of a ``kind`` made by ``object.__new__``: the slot's descriptor."""
    descriptor = next((vars(klass)[name] for klass in kind.__mro__ if name in vars(klass)), None)
    if descriptor is None or not hasattr(descriptor, "__set__"):
        raise TypeError(f"{kind.__name__} has no slot {name!r}: a Record's kind is a Frozen")
    setter: Callable[[Any, Any], None] = descriptor.__set__
    return setter


class Record(Shape):
    """A JSON object with known keys, kept as a ``kind`` (a :class:`Frozen` with one slot per
    field); any other key is refused.

    ``after`` runs on the built object once every field fits (a ``ValueError`` is a problem at the
    object's own location); ``schema_extra`` adds JSON Schema keywords (``minProperties``...)."""

    __slots__ = ("_keys", "_plan", "after", "fields", "kind", "schema_extra")

    def __init__(
        self,
        kind: type,
        fields: Mapping[str, Field],
        *,
        after: Callable[[Any], object] | None = None,
        schema_extra: Mapping[str, Any] | None = None,
    ) -> None:
        unset = set(getattr(kind, "__slots__", ())) - set(fields)
        if unset:
            raise TypeError(f"{kind.__name__}: no field sets {sorted(unset)}")
        self.kind = kind
        self.fields = fields
        self.after = after
        self.schema_extra = schema_extra
        # What ``check`` walks for each request, worked out once: (JSON key, field, how to set
        # the attribute). A slot's own descriptor sets it past Frozen's __setattr__ guard.
        self._plan = tuple(
            (field.alias or name, field, _setter(kind, name)) for name, field in fields.items()
        )
        self._keys = frozenset(key for key, _, _ in self._plan)

    def check(self, value: Any, loc: Loc, problems: list[Problem]) -> Any:
        if type(value) is not dict:
            if isinstance(value, self.kind):
                return value
            problems.append(Problem(loc, "Input should be an object"))
            return None
        before = len(problems)
        out: Any = object.__new__(self.kind)
        given = 0
        for key, field, set_attribute in self._plan:
            if key not in value:
                if field.required:
                    problems.append(Problem((*loc, key), "Field required"))
                elif field.default_factory is not None:
                    set_attribute(out, field.default_factory())
                else:
                    set_attribute(out, field.default)
                continue
            given += 1
            raw = value[key]
            if field.before is not None:
                try:
                    raw = field.before(raw)
                except ValueError as exc:
                    problems.append(Problem((*loc, key), f"Value error, {exc}"))
                    continue
            set_attribute(out, field.shape.check(raw, (*loc, key), problems))
        if given != len(value):
            problems.extend(
                Problem((*loc, key), "Extra inputs are not permitted")
                for key in value
                if key not in self._keys
            )
        if len(problems) != before:
            return None
        if self.after is not None and not _passes(self.after, out, loc, problems):
            return None
        return out

    def json_schema(self) -> dict[str, Any]:
        properties = {
            (field.alias or name): (
                field.schema() if field.schema is not None else field.shape.json_schema()
            )
            for name, field in self.fields.items()
        }
        out: dict[str, Any] = {
            "additionalProperties": False,
            **(self.schema_extra or {}),
            "properties": properties,
        }
        required = [field.alias or name for name, field in self.fields.items() if field.required]
        if required:
            out["required"] = required
        out["type"] = "object"
        return out


class Frozen:
    """Base of the values a :class:`Record` builds: one attribute per name in ``__slots__``, set
    once by keyword, compared by value, immutable afterwards."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            if name not in values:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            object.__setattr__(self, name, values.pop(name))
        if values:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(values)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # values may hold dicts and lists

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
