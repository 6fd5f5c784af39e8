"""The one cattrs converter: Canvas JSON to models, request DTOs to JSON.

Serialization rules live here, not in the models (cattrs ``docs/why.md``): one
hook factory generates a structure function per attrs class, mapping each
snake_case field to its camelCase key (PascalCase for credential fields) once,
at first use. The rules the API imposes:

* timestamps come in several forms, with or without offset; naive ones are UTC
  (spec: "Timestamps"), and every datetime leaves here aware, in UTC;
* ``schedulerFrequency`` and ``credentialsJson`` are JSON-encoded strings inside
  the JSON (spec: "Shapes");
* unknown keys never fail parsing (a model keeps them in ``extra``) and
  unknown enum-like values stay strings, so a server that grows does not
  break parsing.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TypeAlias, TypeVar

import attrs
import cattrs
import cattrs.errors
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models
from ._errors import UnexpectedResponseError

__all__ = [
    "SHAPE_ERRORS",
    "converter",
    "credentials_json",
    "cron_from_frequency",
    "field_reader",
    "frequency_from_cron",
    "read_own_uuid",
    "structure",
    "structurer",
    "unstructure",
    "unstructurer",
]

T = TypeVar("T")

# -- scalar hooks ---------------------------------------------------------------


_fromisoformat = datetime.fromisoformat
_UTC_SUFFIX: Final = "+00:00"


def _structure_datetime(value: Any, _: object = None) -> datetime:
    """Read a timestamp; one without an offset is UTC (spec: "Timestamps").

    ``fromisoformat`` on 3.11 reads every form the server sends, including
    seven fractional digits (truncated to microseconds). Appending the offset
    to the text is much cheaper than ``replace(tzinfo=...)`` afterwards.
    """
    if len(value) >= 19 and value[-6] not in "+-" and value[-1] != "Z":
        return _fromisoformat(value + _UTC_SUFFIX)
    parsed = _fromisoformat(value)
    if parsed.tzinfo is None:  # a bare date
        return parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is not UTC:
        return parsed.astimezone(UTC)
    return parsed


def _structure_optional_datetime(value: Any, _: object) -> datetime | None:
    # The common case inlined: optional timestamps are most of a listing.
    if value is None:
        return None
    if len(value) >= 19 and value[-6] not in "+-" and value[-1] != "Z":
        return _fromisoformat(value + _UTC_SUFFIX)
    return _structure_datetime(value)


_new_uuid = object.__new__
# ``UUID`` is immutable: its slots are written through their descriptors, as
# ``UUID.__init__`` does with ``object.__setattr__``.
_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_is_safe = uuid.UUID.__dict__["is_safe"].__set__
_SAFE_UNKNOWN: Final = uuid.SafeUUID.unknown


def read_own_uuid(value: Any, _: object = None) -> uuid.UUID:
    """Read a GUID: an object's own id (unique within a listing, so not remembered).

    The canonical 36-character form is built directly, as ``UUID.__init__``
    does once it has stripped the hyphens, at half the cost of the
    constructor; anything else goes through ``uuid.UUID``, which accepts the
    same values.
    """
    if value.__class__ is str and len(value) == 36:
        hex_digits = value.replace("-", "")
        if len(hex_digits) == 32:
            result: uuid.UUID = _new_uuid(uuid.UUID)
            _set_uuid_int(result, int(hex_digits, 16))
            _set_uuid_is_safe(result, _SAFE_UNKNOWN)
            return result
    if isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(value)


# The ids an object refers to repeat: every workflow of a listing names the
# same organization and account, a few templates and registrations. Each such
# GUID text is read once and its (immutable) UUID shared. Bounded: emptied
# when full, so a long-running process does not grow; small, so it stays in
# the processor's cache (a listing refers to a few hundred ids at most).
_UUIDS: Final[dict[str, uuid.UUID]] = {}
_UUIDS_MAX: Final = 2048


def _structure_uuid(value: Any, _: object = None) -> uuid.UUID:
    """Read a GUID string that refers to another object (``accountId``...),
    remembered."""
    cached = _UUIDS.get(value) if value.__class__ is str else None
    if cached is not None:
        return cached
    result = read_own_uuid(value)
    if value.__class__ is str and len(value) == 36:  # the canonical form only
        if len(_UUIDS) >= _UUIDS_MAX:
            _UUIDS.clear()
        _UUIDS[value] = result
    return result


def _structure_optional_uuid(value: Any, _: object) -> uuid.UUID | None:
    return None if value is None else _structure_uuid(value)


def _structure_uuids(value: Any, _: object) -> tuple[uuid.UUID, ...]:
    # The cache lookup inlined: id lists are long and common. (A UUID is
    # never false, so ``or`` only calls the reader on a miss.)
    # A plain loop: a comprehension costs more than the lookups of a short list.
    cached = _UUIDS.get
    result = []
    for item in value:
        result.append(cached(item) or _structure_uuid(item))
    return tuple(result)


_OPTION_SEPARATOR: Final = ","
_LABEL_SEPARATOR: Final = "|"


def _structure_options(value: Any, _: object) -> tuple[models.CredentialOption, ...]:
    """Read ``Options`` (``value|Label,value|Label``) into pairs; a bare value is
    its own label."""
    if not value:
        return ()
    if isinstance(value, list):  # tolerate a server that sends a JSON array
        value = _OPTION_SEPARATOR.join(str(v) for v in value)
    options = []
    for item in str(value).split(_OPTION_SEPARATOR):
        option, _sep, label = item.partition(_LABEL_SEPARATOR)
        option = option.strip()
        if option:
            options.append(models.CredentialOption(option, label.strip() or option))
    return tuple(options)


_CRON_KEY: Final = "cronSchedule"


def cron_from_frequency(value: Any, _: object = None) -> str | None:
    """Read ``schedulerFrequency`` (``'{"cronSchedule":"0 0 * ? * *"}'``) to the cron.

    A bare cron string is accepted as well; null or empty reads as None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        # A few schedules are shared by many workflows: decode each text once.
        return _cron_from_text(value)
    if isinstance(value, Mapping):
        return _cron_from_decoded(value)
    raise ValueError("expected a JSON-encoded schedule")


@functools.lru_cache(maxsize=1024)
def _cron_from_text(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return text  # not JSON: the cron itself
    return _cron_from_decoded(decoded)


def _cron_from_decoded(decoded: object) -> str | None:
    if isinstance(decoded, Mapping):
        cron = decoded.get(_CRON_KEY)
        return cron.strip() if isinstance(cron, str) and cron.strip() else None
    return decoded.strip() or None if isinstance(decoded, str) else None


def frequency_from_cron(cron: str | None) -> str | None:
    """Encode a cron for ``scheduleFrequency``: ``'{"cronSchedule":"..."}'``."""
    if cron is None:
        return None
    return json.dumps({_CRON_KEY: cron}, separators=(",", ":"))


def credentials_json(credentials: Mapping[str, object]) -> str:
    # ``credentialsJson`` is a JSON-encoded string holding the object.
    return json.dumps(dict(credentials), separators=(",", ":"), ensure_ascii=False)


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


# A model's private fields set after structuring: never JSON.
_VIEW: Final = "view"  # the account view it was loaded through
_EXTRA: Final = "extra"  # the fields the server sent that the model does not know
_NOT_JSON: Final = frozenset({_VIEW, _EXTRA})

# A model's own id: unique in a listing, unlike the ids it refers to.
_OWN_ID: Final = "id"


def _overrides(cls: type) -> dict[str, Any]:
    key = pascal if cls in _PASCAL_CASE else camel
    rules: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.alias in _NOT_JSON:
            rules[field.name] = override(omit=True)
        elif field.name == _OWN_ID and field.type is uuid.UUID:
            rules[field.name] = override(rename=_OWN_ID, struct_hook=read_own_uuid)
        elif "json" in field.metadata:
            rules[field.name] = field.metadata["json"]
        else:
            rules[field.name] = _FIELD_RULES.get(
                (cls, field.name), override(rename=key(field.name))
            )
    return rules


_JSON_OBJECT: Final = Mapping[str, Any]


def _structure_json_object(value: Any, _: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a JSON object")
    return value


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
    enum_cls = _enum_or_str(tp)
    assert enum_cls is not None
    known: Mapping[str, Any] = enum_cls._value2member_map_
    optional = type(None) in typing.get_args(tp)

    def structure(value: Any, _: object) -> Any:
        if isinstance(value, str):
            return known.get(value, value)
        if value is None and optional:
            return None
        raise ValueError(f"expected a string for {enum_cls.__name__}")

    return structure


# -- primitives and optionals ------------------------------------------------------
# cattrs' generic hooks dispatch per call; these closures are bound once per
# type, which is what keeps a 10,000-workflow listing fast.

_PRIMITIVES: Final = (str, int, bool, float)


def _primitive_hook(cls: type) -> Callable[[Any, Any], Any]:
    # Strict: a JSON value of the wrong type is an unexpected answer, not
    # something to coerce (``str(None)`` would be ``"None"``).
    def structure(value: Any, _: object) -> Any:
        if value.__class__ is cls:
            return value
        if cls is float and value.__class__ is int:
            return float(value)
        raise ValueError(f"expected a JSON {cls.__name__}")

    return structure


def _optional_inner(tp: Any) -> Any:
    """Return ``X`` if ``tp`` is ``X | None`` for a single non-union ``X``, else None."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    if len(args) != 2 or type(None) not in args:
        return None
    (inner,) = (a for a in args if a is not type(None))
    return inner


_OPTIONAL_HOOKS: Final[Mapping[type, Callable[[Any, Any], Any]]] = {
    uuid.UUID: _structure_optional_uuid,
    datetime: _structure_optional_datetime,
}


def _optional_hook_factory(conv: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = _optional_inner(tp)
        if inner in _PRIMITIVES:  # one call instead of two: these are common
            strict = _primitive_hook(inner)

            def structure_primitive(value: Any, _: object) -> Any:
                if value is None or value.__class__ is inner:
                    return value
                return strict(value, inner)

            return structure_primitive
        if inner in _OPTIONAL_HOOKS:
            return _OPTIONAL_HOOKS[inner]
        hook = conv.get_structure_hook(inner)

        def structure(value: Any, _: object) -> Any:
            return None if value is None else hook(value, inner)

        return structure

    return factory


# -- the converter ------------------------------------------------------------------


def _has_extra(cls: Any) -> bool:
    return attrs.has(cls) and any(field.alias == _EXTRA for field in attrs.fields(cls))


def _list_of_models_with_extra(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is list and len(args) == 1 and _has_extra(args[0])


_set_attribute: Final = object.__setattr__


@attrs.frozen
class _UnknownKeys:
    """Finds the keys an object sent that ``cls`` has no field for, and keeps them."""

    keys: frozenset[str]
    """The JSON keys ``cls`` reads."""
    always: bool
    """Whether every object must be looked at: some known key is optional, so
    an object may lack one and carry an unknown one with no more keys than
    ``cls`` knows. Otherwise (a missing known key fails parsing) an object
    with no more keys than ``keys`` has no unknown one: one ``len`` tells."""

    @classmethod
    def of(cls, model: type) -> _UnknownKeys:
        keys = frozenset(wire_keys(model).values())
        sent = [field for field in attrs.fields(model) if field.alias not in _NOT_JSON]
        return cls(keys, any(field.default is not attrs.NOTHING for field in sent))

    def unknown_in(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        """Return the keys ``value`` sent that ``cls`` has no field for, with
        their values (read-only), or :data:`~canvas_async.models.NO_EXTRA`."""
        # A set difference (in C) over the keys, sorted so the order does not
        # depend on string hashing.
        unknown = value.keys() - self.keys
        if not unknown:
            return models.NO_EXTRA
        return MappingProxyType({key: value[key] for key in sorted(unknown)})

    def keep(self, result: Any, value: Mapping[str, Any]) -> None:
        unknown = self.unknown_in(value)
        if unknown is not models.NO_EXTRA:
            _set_attribute(result, "_extra", unknown)

    def one(self, model: type, structure: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """Wrap the structure function of one ``model`` object."""
        count, always = len(self.keys), self.always

        def structure_one(value: Any, _: object) -> Any:
            result = structure(value, model)
            if always or len(value) > count:
                self.keep(result, value)
            return result

        return structure_one

    def listing(
        self, model: type, structure: Callable[[Any, Any], Any]
    ) -> Callable[[Any, Any], Any]:
        """Return the structure function of a JSON array of ``model``: the hot
        path, where the check is one pass of C-level ``len`` calls."""
        count, always = len(self.keys), self.always

        def structure_listing(value: Any, _: object) -> list[Any]:
            result = [structure(item, model) for item in value]
            if value and (always or max(map(len, value)) > count):
                for model_object, item in zip(result, value, strict=True):
                    self.keep(model_object, item)
            return result

        return structure_listing


def _make_converter(*, keep_unknown: bool = True) -> cattrs.Converter:
    """Build the converter; ``keep_unknown=False`` drops unknown keys (for the
    parse benchmark's side-by-side figure)."""
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    for primitive in _PRIMITIVES:
        conv.register_structure_hook(primitive, _primitive_hook(primitive))
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_structure_hook_func(lambda t: t == tuple[uuid.UUID, ...], _structure_uuids)
    conv.register_structure_hook_factory(
        lambda t: _optional_inner(t) is not None and _enum_or_str(t) is None,
        _optional_hook_factory(conv),
    )
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook_factory(lambda t: _enum_or_str(t) is not None, _enum_or_str_hook)
    # ``Mapping[str, Any]`` fields (block variables, credentialsJson) hold
    # free-form JSON: take it as the server sent it.
    conv.register_structure_hook_func(lambda t: t == _JSON_OBJECT, _structure_json_object)

    # Models' own structure functions, for their listings' hooks.
    plain: dict[type, Callable[[Any, Any], Any]] = {}

    def structure_factory(cls: type) -> Any:
        attrs.resolve_types(cls)  # annotations are strings (``from __future__``)
        structure: Any = make_dict_structure_fn(cls, conv, **_overrides(cls))
        if not (keep_unknown and _has_extra(cls)):
            return structure
        plain[cls] = structure
        return _UnknownKeys.of(cls).one(cls, structure)

    def listing_factory(tp: Any) -> Any:
        (cls,) = typing.get_args(tp)
        conv.get_structure_hook(cls)  # builds the model's own function first
        return _UnknownKeys.of(cls).listing(cls, plain[cls])

    def unstructure_factory(cls: type) -> Any:
        # Optional request fields left at None are not sent at all.
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **_overrides(cls))

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    if keep_unknown:
        conv.register_structure_hook_factory(_list_of_models_with_extra, listing_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter: Final = _make_converter()


def structure(payload: object, cl: type[T]) -> T:
    """Structure a decoded JSON ``payload`` into ``cl``.

    Raises:
        ValueError: (or ``TypeError``, ``KeyError``...) the payload does not
            have the shape of ``cl``.
    """
    return structurer(cl)(payload)


def structure_hook(cl: type[T]) -> Callable[[object, type[T]], T]:
    """Return the converter's structure function for ``cl``."""
    return converter.get_structure_hook(cl)


def structurer(cl: type[T]) -> Callable[[object], T]:
    """Return :func:`structure` for ``cl`` alone: its hook is looked up on the
    first call, not on every one (the hot path of every answer)."""
    hook: Callable[[object, type[T]], T] | None = None

    def structure_cl(payload: object) -> T:
        nonlocal hook
        if hook is None:
            hook = structure_hook(cl)
        try:
            return hook(payload, cl)
        except cattrs.errors.CattrsError as error:
            raise ValueError(str(error)) from error

    return structure_cl


# -- models read from answers, field by field -----------------------------------------

SHAPE_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    cattrs.errors.CattrsError,
)
"""What reading a JSON value of the wrong shape raises (cattrs, with detailed
validation off, lets the underlying error through)."""
_ABSENT: Final = object()
# A module name looked up per model (the suite's leak check wraps it to see them).
_new_object: Callable[[type], Any] = object.__new__


_Readers: TypeAlias = dict[str, Callable[[Mapping[str, Any]], Any]]
"""A model's fields, each with how to read it from the JSON object."""


class FieldReader:
    """Reads the models of one class that one operation answers with.

    A model is built without reading anything: it keeps the answer's JSON
    object, and its fields are read when one is first used, with the same
    rules (and hooks) as :func:`structure`, then kept on the model (see
    :class:`~canvas_async.models.Model`). Only the shape of the answer (an
    object, an array of objects) is checked at once.

    Get one with :func:`field_reader`: one per class and operation, shared.
    """

    __slots__ = ("_binds", "_built", "cls", "label")

    def __init__(self, cls: type, label: str) -> None:
        self.cls = cls
        self.label = label
        """The operation it answered, for errors."""
        # Whether its models act through the view they were loaded through.
        self._binds = any(field.alias == _VIEW for field in attrs.fields(cls))
        # Built on the first read, once the model's annotations can be resolved.
        self._built: tuple[_Readers, Callable[[Any, Any], Any]] | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # Copies and pickles of a model share the one reader.
        return field_reader, (self.cls, self.label)

    def one(self, view: object, payload: object) -> Any:
        """Return the model of the JSON object ``payload``, bound to ``view``
        (if not None and the model acts through one)."""
        return self.listing(view, [payload])[0]

    def listing(self, view: object, payload: object) -> list[Any]:
        """Return the models of the JSON array ``payload``, bound as by :meth:`one`."""
        if not isinstance(payload, list):
            raise ValueError(f"expected a JSON array of {self.cls.__name__}")
        cls, new, bind = self.cls, _new_object, view is not None and self._binds
        models_read: list[Any] = []
        append = models_read.append
        for item in payload:
            if item.__class__ is not dict and not isinstance(item, Mapping):
                raise ValueError(f"expected a JSON object for {cls.__name__}")
            model = new(cls)
            state = model.__dict__
            state[models.SOURCE] = (self, item)
            if bind:
                state[_PRIVATE_VIEW] = view
            append(model)
        return models_read

    def read(self, model: Any, name: str, payload: Mapping[str, Any]) -> Any:
        """Read ``model``'s fields from ``payload`` and keep them; return ``name``.

        The first field used reads them all, as :func:`structure` would (a
        model used at all is mostly used whole, and one pass costs less than
        one per field); then the JSON object is let go. If a field cannot be
        read, the others are kept one by one, and only that field raises,
        whenever it is used.
        """
        built = self._built
        if built is None:
            built = self._built = self._build()
        readers, whole_hook = built
        if name not in readers:
            raise AttributeError(f"{self.cls.__name__!r} object has no attribute {name!r}")
        state = model.__dict__
        try:
            whole = whole_hook(payload, self.cls)
        except SHAPE_ERRORS:
            return self._read_apart(model, name, payload, readers)
        view = state.get(_PRIVATE_VIEW)
        state.update(whole.__dict__)
        del state[models.SOURCE]
        if view is not None:
            state[_PRIVATE_VIEW] = view
        return state[name]

    def _read_apart(
        self,
        model: Any,
        name: str,
        payload: Mapping[str, Any],
        readers: _Readers,
    ) -> Any:
        state = model.__dict__
        failed: BaseException | None = None
        for field, reader in readers.items():
            if field in state:  # read before, or the view it was bound to
                continue
            try:
                state[field] = reader(payload)
            except SHAPE_ERRORS as error:
                if field == name:
                    failed = error
        if failed is not None:
            raise self._unexpected(model, name, failed, payload) from failed
        return state[name]

    def _build(self) -> tuple[_Readers, Callable[[Any, Any], Any]]:
        """Return a reader per field, and the model's structure function."""
        cls = self.cls
        attrs.resolve_types(cls)
        rules = _overrides(cls)
        readers: _Readers = {}
        for field in attrs.fields(cls):
            rule = rules[field.name]
            if field.alias == _EXTRA:
                readers[field.name] = _UnknownKeys.of(cls).unknown_in
            elif rule.omit:
                readers[field.name] = _constant(field.default)
            else:
                hook = rule.struct_hook or converter.get_structure_hook(field.type)
                readers[field.name] = _field(
                    rule.rename or field.name, hook, field.type, field.default
                )
        return readers, converter.get_structure_hook(cls)

    def _unexpected(
        self, model: Any, name: str, error: BaseException, payload: Mapping[str, Any]
    ) -> UnexpectedResponseError:
        if isinstance(error, KeyError):
            problem = f"the object has no {error.args[0]!r}"
        else:
            problem = f"{type(error).__name__}: {error}"
        view = model.__dict__.get(_PRIVATE_VIEW)
        return UnexpectedResponseError(
            f"unexpected answer: {self.cls.__name__}.{name} ({problem})",
            status=_SUCCESS,
            operation=self.label,
            account_id=getattr(view, "account_id", None),
            body=payload,
        )


# A model's view as attrs stores it (the field ``_view``, alias ``view``).
_PRIVATE_VIEW: Final = "_view"
# The status an error found reading a model carries: its answer was a success.
_SUCCESS: Final = 200


def _constant(default: Any) -> Callable[[Mapping[str, Any]], Any]:
    return lambda payload: default


def _field(
    key: str, hook: Callable[[Any, Any], Any], tp: Any, default: Any
) -> Callable[[Mapping[str, Any]], Any]:
    if default is attrs.NOTHING:

        def read_required(payload: Mapping[str, Any]) -> Any:
            return hook(payload[key], tp)

        return read_required
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        raise TypeError("a model field read from an answer has no factory default")

    def read_optional(payload: Mapping[str, Any]) -> Any:
        value = payload.get(key, _ABSENT)
        return default if value is _ABSENT else hook(value, tp)

    return read_optional


_READERS: Final[dict[tuple[type, str], FieldReader]] = {}


def field_reader(cls: type, label: str) -> FieldReader:
    """Return the :class:`FieldReader` of the models of ``cls`` answered by
    the operation ``label`` (one per pair, shared)."""
    reader = _READERS.get((cls, label))
    if reader is None:
        reader = _READERS[cls, label] = FieldReader(cls, label)
    return reader


def unstructure(obj: object) -> Any:
    """Unstructure a request DTO into JSON-ready data."""
    return converter.unstructure(obj)


def unstructurer(cls: type[T]) -> Callable[[T], Any]:
    """Return :func:`unstructure` for DTOs of ``cls`` alone: its hook is
    looked up (and built) on the first call, not on every one."""
    hook: Callable[[T], Any] | None = None

    def unstructure_cls(obj: T) -> Any:
        nonlocal hook
        if hook is None:
            hook = converter.get_unstructure_hook(cls)
        return hook(obj)

    return unstructure_cls


def parse_workflows(raw: bytes) -> list[models.Workflow]:
    """Decode a ``Workflows`` answer body into models (the parsing fast path)."""
    return structure(json.loads(raw), list[models.Workflow])


def wire_keys(cls: type) -> dict[str, str]:
    """Return each field of the attrs class ``cls`` with its JSON key (fields
    never sent, such as the account view, left out)."""
    return {
        name: rule.rename
        for name, rule in _overrides(cls).items()
        if not rule.omit and rule.rename is not None
    }
