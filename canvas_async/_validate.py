"""Checks on caller input, run before anything is sent.

Each check raises :class:`~canvas_async.ValidationError` with one message that
names every problem found. Messages name fields, blocks and applications, and
never quote a value that could be a secret (credential values above all).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from . import models
from ._errors import ValidationError

__all__ = [
    "as_uuid",
    "check_account",
    "check_block_range",
    "check_credentials",
    "check_name",
    "resolve_applications",
    "resolve_variables",
]


def as_uuid(value: object, what: str) -> uuid.UUID:
    """Return ``value`` as a UUID: a UUID, its string form, or a model with an ``id``.

    Args:
        value: What the caller passed.
        what: What the id is of, for the message (``"workflow id"``).
    """
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            raise ValidationError(f"{what} must be a GUID, got {value!r}") from None
    model_id = getattr(value, "id", None)
    if isinstance(model_id, uuid.UUID):
        return model_id
    raise ValidationError(f"{what} must be a GUID or a model with one, got {type(value).__name__}")


def check_name(value: object, what: str) -> str:
    """Return ``value`` if it is a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")
    return value


# -- accounts (spec: "Shapes", AddAccountApiDto) --------------------------------------

ACCOUNT_ROLES: Final = (models.Role.USER, models.Role.SUPER_PARTNER)

# Deliberately loose: one "@", no blanks, a dot in the domain. The server is
# the judge of deliverability; this catches swapped fields and typos.
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

# ISO 3166-1 alpha-2: the 249 assigned codes (as listed in the tz database's
# iso3166.tab).
_COUNTRY_CODES_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: Final = frozenset(_COUNTRY_CODES_TEXT.split())


def check_account(
    *,
    first_name: object,
    last_name: object,
    email: object,
    role: object,
    country_key: object,
    default_notification_email: object,
) -> None:
    """Check the fields of a new account; raise naming every bad one."""
    problems = []
    for what, value in (("first_name", first_name), ("last_name", last_name)):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{what} must be a non-empty string")
    for what, value in (
        ("email", email),
        ("default_notification_email", default_notification_email),
    ):
        if value is None and what != "email":
            continue
        if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
            problems.append(f"{what} must be an e-mail address")
    if role not in ACCOUNT_ROLES:
        allowed = " or ".join(repr(str(r)) for r in ACCOUNT_ROLES)
        problems.append(f"role must be {allowed}, got {role!r}")
    if country_key is not None and country_key not in COUNTRY_CODES:
        problems.append(
            f"country_key must be an ISO 3166-1 alpha-2 code such as 'DE', got {country_key!r}"
        )
    _raise(problems, "cannot create the account")


# -- registering an application (spec: "Shapes", AddRegApplicationApiDto) -------------


def check_credentials(application: models.Application, credentials: Mapping[str, object]) -> None:
    """Check ``credentials`` against the application's ``credentialFields``.

    Required fields must be present and non-empty, ``select`` values among the
    field's options, and no unknown field may appear. Values are never quoted.
    """
    if not isinstance(credentials, Mapping):
        raise ValidationError("credentials must be a mapping of credential short names to values")
    fields = {field.short_name: field for field in application.credential_fields}
    problems = []
    unknown = sorted(str(key) for key in credentials if key not in fields)
    if unknown:
        known = ", ".join(fields) or "none"
        problems.append(f"unknown credential fields {', '.join(unknown)} (known: {known})")
    for short_name, field in fields.items():
        value = credentials.get(short_name)
        label = f"{short_name} ({field.name})" if field.name else short_name
        if _is_empty(value):
            if not field.optional:
                problems.append(f"{label} is required")
            continue
        if isinstance(value, Mapping | list | tuple | set):
            problems.append(f"{label} must be a string, number or boolean")
            continue
        if field.type == models.CredentialFieldType.SELECT and field.options:
            allowed = [option.value for option in field.options]
            if str(value) not in allowed:
                problems.append(f"{label} must be one of {', '.join(allowed)}")
    _raise(problems, f"bad credentials for {application.short_name}")


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- creating a workflow (spec: "Shapes", AddWorkflowApiDto) ----------------------------


def resolve_applications(
    template: models.WorkflowTemplate,
    applications: Mapping[str, models.RegApplication | uuid.UUID | str],
) -> dict[str, uuid.UUID]:
    """Map each of the template's application short names to a registration id.

    ``applications`` must name exactly the template's short names; a
    :class:`~canvas_async.RegApplication` given must be a registration of that
    application.
    """
    if not isinstance(applications, Mapping):
        raise ValidationError("applications must map application short names to registrations")
    problems = []
    wanted = list(template.applications)
    missing = [name for name in wanted if name not in applications]
    extra = sorted(str(name) for name in applications if name not in wanted)
    if missing:
        problems.append(f"missing registrations for {', '.join(missing)}")
    if extra:
        problems.append(f"the template does not use {', '.join(extra)}")
    resolved: dict[str, uuid.UUID] = {}
    for short_name, registration in applications.items():
        if isinstance(registration, models.RegApplication):
            if registration.short_name != short_name:
                problems.append(
                    f"{short_name} is given a registration of {registration.short_name}"
                )
            resolved[short_name] = registration.id
            continue
        try:
            resolved[short_name] = as_uuid(registration, f"registration for {short_name}")
        except ValidationError as error:
            problems.append(str(error))
    _raise(problems, f"cannot create a workflow from {template.name!r}")
    return resolved


def resolve_variables(
    template: models.WorkflowTemplate, variables: Mapping[str, Mapping[str, Any]]
) -> list[tuple[models.Block, dict[str, Any]]]:
    """Return ``(block, merged variables)`` for each block ``variables`` names.

    Blocks are named by ``blockName`` or ``uniqueBlockId``; a name two blocks
    share is refused as ambiguous. The overrides are laid over the block's own
    variables, so the server receives the block's complete set.
    """
    if not isinstance(variables, Mapping):
        raise ValidationError("variables must map block names or ids to variable mappings")
    by_id = {str(each.unique_block_id): each for each in template.chain}
    by_name: dict[str, list[models.Block]] = {}
    for each in template.chain:
        by_name.setdefault(each.block_name, []).append(each)
    problems: list[str] = []
    chosen: dict[uuid.UUID, tuple[models.Block, dict[str, Any]]] = {}
    # Typed for callers; checked for what they may really pass.
    for key, overrides in cast("Mapping[object, object]", variables).items():
        block = _find_block(str(key), by_id, by_name, problems)
        if block is None:
            continue
        if not isinstance(overrides, Mapping):
            problems.append(f"variables for block {key!r} must be a mapping")
            continue
        if block.unique_block_id in chosen:
            problems.append(f"block {key!r} is named twice")
            continue
        chosen[block.unique_block_id] = (block, {**block.variables, **overrides})
    _raise(problems, f"bad variables for {template.name!r}")
    return list(chosen.values())


def _find_block(
    key: str,
    by_id: Mapping[str, models.Block],
    by_name: Mapping[str, list[models.Block]],
    problems: list[str],
) -> models.Block | None:
    block: models.Block | None
    try:
        block = by_id.get(str(uuid.UUID(key)))
    except ValueError:
        block = None
    if block is not None:
        return block
    named = by_name.get(key, [])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        problems.append(f"block name {key!r} is ambiguous: use one of its uniqueBlockIds")
    else:
        known = ", ".join(repr(name) for name in by_name) or "none"
        problems.append(f"no block {key!r} in the template (blocks: {known})")
    return None


# -- running (spec: "Shapes", RunMetadataApiDto) -----------------------------------------


def check_block_range(
    from_block: object, till_block: object, *, chain_length: int | None = None
) -> None:
    """Check 1-based block numbers: each >= 1 (and <= the chain length when
    known), ``from_block`` <= ``till_block``."""
    problems = []
    for what, value in (("from_block", from_block), ("till_block", till_block)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{what} must be an int")
        elif value < 1:
            problems.append(f"{what} must be >= 1 (blocks are numbered from 1)")
        elif chain_length is not None and value > chain_length:
            problems.append(f"{what} must be <= {chain_length}, the number of blocks")
    if (
        not problems
        and isinstance(from_block, int)
        and isinstance(till_block, int)
        and from_block > till_block
    ):
        problems.append(f"from_block ({from_block}) must not be after till_block ({till_block})")
    _raise(problems, "bad block range")


def _raise(problems: Iterable[str], what: str) -> None:
    problems = list(problems)
    if problems:
        raise ValidationError(f"{what}: {'; '.join(problems)}")
