"""The one cattrs converter: Canvas JSON to models, request DTOs to JSON.

Serialization rules live here, not in the models (cattrs ``docs/why.md``): one
hook factory generates a structure function per attrs class, mapping each
snake_case field to its camelCase key (PascalCase for credential fields).
Answers are read by a converter without cattrs' detailed validation; only an
answer that does not fit is read again by :data:`converter`, which names every
field that does not. The rules the API imposes:

* timestamps come in several forms, with or without offset; naive ones are UTC
  (spec: "Timestamps"), and every datetime leaves here aware, in UTC;
* ``schedulerFrequency`` and ``credentialsJson`` are JSON-encoded strings inside
  the JSON (spec: "Shapes");
* JSON values are taken as they are, never coerced (``str(None)`` would be
  ``"None"``): a value of the wrong type fails parsing, naming its field;
* unknown keys never fail parsing (a model keeps them in ``extra``) and
  unknown enum-like values stay strings, so a server that grows does not
  break parsing.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs
import cattrs
import cattrs.errors
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models

T = TypeVar("T")

SHAPE_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    cattrs.errors.CattrsError,
)
"""What reading a JSON value of the wrong shape raises: :func:`structure`
raises ``ValueError``, the parsers of plain answers whatever their rule does."""

# -- scalar hooks ---------------------------------------------------------------


def _structure_datetime(value: Any, _: object) -> datetime:
    """Read a timestamp in UTC; one without an offset is UTC (spec: "Timestamps").

    ``fromisoformat`` on 3.11 reads every form the server sends, including
    seven fractional digits (truncated to microseconds), and reads ``+00:00``
    as ``UTC`` itself. A time of day with no offset, the server's usual form,
    is read again with ``+00:00`` appended: ``replace(tzinfo=UTC)`` costs
    several times the parse on 3.11.
    """
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is UTC:
        return parsed
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if "T" in value:
        return datetime.fromisoformat(value + "+00:00")
    return parsed.replace(tzinfo=UTC)  # a bare date


def _structure_uuid(value: Any, _: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("expected a GUID string")
    return uuid.UUID(value)


def _structure_primitive(value: Any, cls: type) -> Any:
    """Take a JSON string, number or boolean of exactly the type ``cls``."""
    # ``type(...) is``: a JSON ``true`` is no int, although ``bool`` subclasses it.
    if type(value) is cls:
        return value
    if cls is float and type(value) is int:
        return float(value)
    raise ValueError(f"expected a JSON {cls.__name__}")


def _structure_json_object(value: Any, _: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a JSON object")
    return value


def _structure_options(value: Any, _: object) -> tuple[models.CredentialOption, ...]:
    """Read ``Options`` (``value|Label,value|Label``) into pairs; a bare value is
    its own label."""
    if not value:
        return ()
    if isinstance(value, list):  # tolerate a server that sends a JSON array
        value = ",".join(str(v) for v in value)
    options = []
    for item in str(value).split(","):
        option, _sep, label = item.partition("|")
        option = option.strip()
        if option:
            options.append(models.CredentialOption(option, label.strip() or option))
    return tuple(options)


_CRON_KEY: Final = "cronSchedule"
_JSON: Final = json.JSONDecoder()  # ``json.loads`` less its checks of arguments


def cron_from_frequency(value: Any, _: object = None) -> str | None:
    """Read ``schedulerFrequency`` (``'{"cronSchedule":"0 0 * ? * *"}'``) to the cron.

    A bare cron string is accepted as well; null or empty reads as None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = _JSON.decode(value)
        except ValueError:
            return value.strip() or None  # not JSON: the cron itself
    elif not isinstance(value, Mapping):
        raise ValueError("expected a JSON-encoded schedule")
    if isinstance(value, (dict, Mapping)):  # a dict, what JSON reads, needs no ABC check
        value = value.get(_CRON_KEY)
    return value.strip() or None if isinstance(value, str) else None


def frequency_from_cron(cron: str | None) -> str | None:
    """Encode a cron for ``scheduleFrequency``: ``'{"cronSchedule":"..."}'``."""
    if cron is None:
        return None
    return json.dumps({_CRON_KEY: cron}, separators=(",", ":"))


def credentials_json(credentials: Mapping[str, object]) -> str:
    # ``credentialsJson`` is a JSON-encoded string holding the object.
    return json.dumps(dict(credentials), separators=(",", ":"), ensure_ascii=False)


# -- enum-or-string values -------------------------------------------------------


def _enum_or_str(tp: Any) -> type[enum.StrEnum] | None:
    """Return ``E`` if ``tp`` is ``E | str`` (or ``E | str | None``) for a
    StrEnum ``E``, else None."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = set(typing.get_args(tp)) - {type(None)}
    if len(args) != 2 or str not in args:
        return None
    (other,) = args - {str}
    if isinstance(other, type) and issubclass(other, enum.StrEnum):
        return other
    return None


def _enum_or_str_hook(tp: Any) -> Callable[[Any, Any], Any]:
    """Read a known value as its enum member, an unknown one as the string."""
    enum_cls = _enum_or_str(tp)
    assert enum_cls is not None
    optional = type(None) in typing.get_args(tp)

    def structure(value: Any, _: object) -> Any:
        if isinstance(value, str):
            return enum_cls._value2member_map_.get(value, value)
        if value is None and optional:
            return None
        raise ValueError(f"expected a string for {enum_cls.__name__}")

    return structure


# -- key naming -------------------------------------------------------------------

_WORD_START: Final = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """``date_time_utc_authenticated`` -> ``dateTimeUtcAuthenticated``."""
    return _WORD_START.sub(lambda m: m.group(1).upper(), name)


def pascal(name: str) -> str:
    """``short_name`` -> ``ShortName``."""
    key = camel(name)
    return key[:1].upper() + key[1:]


# Per class: how its field names become keys, and fields with their own rules.
# A request body's field may carry its own rule as ``metadata={"json": ...}``
# (see :mod:`._operations`), so a new operation's body needs no entry here.
_PASCAL_CASE: Final = frozenset({models.CredentialField})
_FIELD_RULES: Final[Mapping[tuple[type, str], Any]] = {
    (models.Workflow, "cron"): override(
        rename="schedulerFrequency", struct_hook=cron_from_frequency
    ),
    (models.CredentialField, "options"): override(rename="Options", struct_hook=_structure_options),
}

# A model's private fields, set after structuring: never JSON.
_VIEW: Final = "view"  # the account view it was loaded through
_EXTRA: Final = "extra"  # the fields the server sent that the model does not know
_NOT_JSON: Final = frozenset({_VIEW, _EXTRA})


def _overrides(cls: type) -> dict[str, Any]:
    key = pascal if cls in _PASCAL_CASE else camel
    rules: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.alias in _NOT_JSON:
            rules[field.name] = override(omit=True)
        elif "json" in field.metadata:
            rules[field.name] = field.metadata["json"]
        else:
            rules[field.name] = _FIELD_RULES.get(
                (cls, field.name), override(rename=key(field.name))
            )
    return rules


def wire_keys(cls: type) -> dict[str, str]:
    """Return each field of the attrs class ``cls`` with its JSON key (fields
    never sent, such as the account view, left out)."""
    return {
        name: rule.rename
        for name, rule in _overrides(cls).items()
        if not rule.omit and rule.rename is not None
    }


def _set_private(model: object, alias: str, value: object) -> None:
    # How attrs itself sets a frozen instance's field; these are not data.
    object.__setattr__(model, "_" + alias, value)


# -- the converter ------------------------------------------------------------------


def _optional(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and (
        len(args) == 2 and type(None) in args
    )


def _homogeneous_tuple(tp: Any) -> bool:
    origin: object = typing.get_origin(tp)
    return origin is tuple and typing.get_args(tp)[1:] == (Ellipsis,)


def _make_converter(*, detailed: bool = True, keep_unknown: bool = True) -> cattrs.Converter:
    """Build a converter: ``detailed`` names every field that does not fit,
    the other reads faster; ``keep_unknown=False`` drops unknown keys (for the
    parse benchmark's side-by-side figure)."""
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    for primitive in (str, int, bool, float):
        conv.register_structure_hook(primitive, _structure_primitive)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_unstructure_hook(uuid.UUID, str)

    # ``X | None``: X's hook found once, not on every value (cattrs' default).
    def structure_optional(tp: Any) -> Callable[[Any, Any], Any]:
        (inner,) = (arg for arg in typing.get_args(tp) if arg is not type(None))
        hook = conv.get_structure_hook(inner)
        return lambda value, _: None if value is None else hook(value, inner)

    conv.register_structure_hook_factory(_optional, structure_optional)
    conv.register_structure_hook_factory(lambda t: _enum_or_str(t) is not None, _enum_or_str_hook)
    # ``Mapping[str, Any]`` fields (block variables, credentialsJson) hold
    # free-form JSON: take it as the server sent it.
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Any], _structure_json_object)
    if not detailed:  # the detailed converter's own hook names the bad item

        def structure_tuple(tp: Any) -> Callable[[Any, Any], Any]:
            item = typing.get_args(tp)[0]
            hook = conv.get_structure_hook(item)
            return lambda value, _: tuple([hook(v, item) for v in value])

        conv.register_structure_hook_factory(_homogeneous_tuple, structure_tuple)

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        attrs.resolve_types(cls)  # annotations are strings (``from __future__``)
        structure_fields: Any = make_dict_structure_fn(cls, conv, **_overrides(cls))
        known = frozenset(wire_keys(cls).values())
        keep = keep_unknown and any(field.alias == _EXTRA for field in attrs.fields(cls))
        # Every key required: all are there once read, so only unknown ones add to them.
        required = all(
            f.default is attrs.NOTHING for f in attrs.fields(cls) if f.alias not in _NOT_JSON
        )

        def structure_model(value: Any, _: object) -> Any:
            if not isinstance(value, dict):  # what ``json.loads`` reads an object into
                raise ValueError(f"expected a JSON object for {cls.__name__}")
            model = structure_fields(value, cls)
            if keep and (len(value) > len(known) if required else not known.issuperset(value)):
                # In key order, not by string hashing.
                extra = {key: value[key] for key in sorted(value.keys() - known)}
                _set_private(model, _EXTRA, MappingProxyType(extra))
            return model

        return structure_model

    def unstructure_factory(cls: type) -> Any:
        # Optional request fields left at None are not sent at all.
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **_overrides(cls))

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter: Final = _make_converter()
_fast: Final = _make_converter(detailed=False)


def _describe(error: BaseException, _: object) -> str:
    if isinstance(error, KeyError):
        return f"missing key {error.args[0]!r}"
    return str(error) or type(error).__name__


def structure(payload: object, cl: type[T], view: object = None) -> T:
    """Structure a decoded JSON ``payload`` into ``cl``, a model or a list of them.

    Args:
        payload: What ``json.loads`` returned.
        cl: The model class, or ``list[Model]`` for a JSON array.
        view: The account view the models act through (those that act).

    Raises:
        ValueError: ``payload`` does not fit ``cl``; the message names every
            field that does not fit (``... @ Workflow[3].name``).
    """
    model_cls: type = cl
    if typing.get_origin(cl) is list:
        (model_cls,) = typing.get_args(cl)
        if not isinstance(payload, list):
            raise ValueError(f"expected a JSON array of {model_cls.__name__}")
    try:
        result: Any = _fast.structure(payload, cl)
    except SHAPE_ERRORS:
        try:  # read again, naming every field that does not fit
            result = converter.structure(payload, cl)
        except cattrs.errors.CattrsError as error:
            where = model_cls.__name__
            problems = cattrs.transform_error(error, path=where, format_exception=_describe)
            raise ValueError("; ".join(problems)) from error
    if view is not None:
        for model in result if isinstance(result, list) else (result,):
            if hasattr(model, "_" + _VIEW):  # a model that acts through a view
                _set_private(model, _VIEW, view)
    return typing.cast("T", result)


def unstructure(obj: object) -> Any:
    """Unstructure a request DTO into JSON-ready data."""
    return converter.unstructure(obj)
