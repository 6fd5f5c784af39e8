"""One definition per operation: arguments -> checked request; answer -> value.

Pure (no I/O): an :class:`Operation` names its route, checks the caller's
arguments and builds the query and JSON body (:meth:`Operation.__call__`),
and reads the success answer into the value returned (:attr:`Operation.parse`).
The resource APIs hand the result to the transport; the request bodies (the
API's ``...ApiDto`` shapes) live here too, with any serialization rule of
their own in the field's ``json`` metadata (read by :mod:`._convert`).

Adding an operation: a route in :mod:`._routes`, a definition here, a method
in a resource API (and a handler in the emulator).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Generic, ParamSpec, TypeAlias, TypeVar, cast

import attrs
from cattrs.gen import override

from . import _convert, _routes, _validate, models
from ._cron.canonical import canonical
from ._errors import NotFoundError, OutcomeUnknownError, ValidationError
from ._text import quoted
from .schedule import Cron

P = ParamSpec("P")
T = TypeVar("T")

# -- request bodies (spec: "Shapes"); a field left at None is not sent ----------


@attrs.frozen
class NewAccount:
    """AddAccountApiDto."""

    first_name: str
    last_name: str
    email: str
    role_name: str
    phone: str | None = None
    country_key: str | None = None
    global_notifications: bool | None = None
    default_notification_email: str | None = None
    activated: bool | None = None


@attrs.frozen
class NewRegApplication:
    """AddRegApplicationApiDto; ``credentials`` goes out as ``credentialsJson``,
    a JSON-encoded string."""

    application_id: uuid.UUID
    tag_text: str
    credentials: Mapping[str, object] = attrs.field(
        repr=False,
        metadata={
            "json": override(rename="credentialsJson", unstruct_hook=_convert.credentials_json)
        },
    )


@attrs.frozen
class ChainOverride:
    """One entry of AddWorkflowApiDto's ``chain``."""

    unique_block_id: uuid.UUID
    variables: Mapping[str, Any]


@attrs.frozen
class NewWorkflow:
    """AddWorkflowApiDto."""

    workflow_template_id: uuid.UUID
    applications: Mapping[str, uuid.UUID]
    name: str | None = None
    description: str | None = None
    chain: tuple[ChainOverride, ...] | None = None


@attrs.frozen
class RunMetadata:
    """RunMetadataApiDto; block numbers are 1-based and optional."""

    workflow_id: uuid.UUID
    run_from_block: int | None = None
    run_till_block: int | None = None


@attrs.frozen
class SchedulerUpdate:
    """UpdateWorkfowSchedulerApiDto (sic); ``cron`` goes out as
    ``scheduleFrequency``, a JSON-encoded ``{"cronSchedule": ...}``."""

    workflow_id: uuid.UUID
    is_scheduled: bool
    cron: str | None = attrs.field(
        default=None,
        metadata={
            "json": override(rename="scheduleFrequency", unstruct_hook=_convert.frequency_from_cron)
        },
    )


# -- the operation ---------------------------------------------------------------

Parse = Callable[["models.View | None", Any], T]

Request: TypeAlias = tuple[Mapping[str, str] | None, object]
"""What an operation sends, as its definition built it from the arguments:
``(params, body)``, the query parameters and the JSON-ready body. A plain
tuple: it is built on every request."""

Call: TypeAlias = tuple["Operation[..., T]", Request]
"""An operation with its checked request, ready for the transport."""


@attrs.frozen
class Operation(Generic[P, T]):
    """One API operation's definition.

    Attributes:
        key: The route's key in :data:`._routes.ROUTES`.
        build: Checks the arguments (raising
            :class:`~canvas_async.ValidationError` before anything is sent)
            and returns the :data:`Request`.
        parse: Reads the decoded success body into the value returned, bound
            to the account view it was loaded through (None for none); a body
            of the wrong shape raises ``ValueError``, ``TypeError``...
    """

    key: str
    build: Callable[P, Request]
    parse: Parse[T]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        """Check the arguments and return the request to send."""
        return self, self.build(*args, **kwargs)


# -- answers ----------------------------------------------------------------------


def parse_true(payload: Any) -> bool:
    """Read a ``true`` acknowledgement (JSON ``true`` or the text ``true``)."""
    if payload is True or (isinstance(payload, str) and payload.strip().casefold() == "true"):
        return True
    raise ValueError("expected true")


def _models(cls: type[T]) -> Parse[list[T]]:
    """Parse a JSON array of ``cls``, each bound to the view it came through."""
    listing: Any = list[cls]  # type: ignore[valid-type]
    return lambda view, payload: _convert.structure(payload, listing, view)


def _listing(key: str, cls: type[T]) -> Operation[[], list[T]]:
    """The operation ``key``: no arguments, a JSON array of ``cls``."""
    return Operation(key, _no_arguments, _models(cls))


def not_found_error(key: str, message: str, account_id: uuid.UUID | None) -> NotFoundError:
    """Return the error for an object missing from a successful listing.

    ``status`` is 404 (what the object is), ``http_status`` 200 (what the
    listing was): the server was asked for the list, not for the object.
    """
    label = _routes.ROUTES[key].label
    return NotFoundError(
        message, status=404, http_status=200, operation=label, account_id=account_id
    )


def accepted_write_error(
    key: str, problem: str, account_id: uuid.UUID | None
) -> OutcomeUnknownError:
    """Return the error for a write the server accepted whose result cannot be read.

    The write took effect (spec: "Where the documentation disagrees with
    itself"), so no other error may say it failed: a caller who repeated it
    would do it twice. It is an :class:`OutcomeUnknownError`: read back before
    repeating.
    """
    operation = _routes.ROUTES[key].label
    return OutcomeUnknownError(
        f"{operation} was accepted by the server, but {problem}; "
        "do not repeat it before listing what exists",
        operation=operation,
        account_id=account_id,
    )


def find_created(key: str, items: Iterable[T], value: str) -> T | None:
    """Return the one item a create answered without an id made, else None.

    Matches on the route's read-back field (:data:`~._routes.READ_BACK_KEYS`,
    e.g. the e-mail of an account), ignoring case and surrounding blanks.
    """
    attribute = _routes.READ_BACK_KEYS[key]
    wanted = value.strip().casefold()
    found = [item for item in items if _folded(getattr(item, attribute, None)) == wanted]
    return found[0] if len(found) == 1 else None


def _folded(value: object) -> str | None:
    return value.strip().casefold() if isinstance(value, str) else None


# A write's answer (spec: "Where the documentation disagrees with itself"): the
# vendor's pages and GetMetaData disagree on what several writes answer. A 2xx
# answer without the error envelope (the transport raises on that and on every
# error status) means the write took effect, whatever its body: the documented
# text, ``""``, ``true`` or a GUID. So it is never refused; a create's id is read
# where one is sent.
def _done(view: models.View | None, payload: Any) -> None:
    """Read a write's answer: it took effect, and says nothing more."""


# The lengths of the GUID forms ``uuid.UUID`` reads: 32 hex digits, with
# hyphens, in braces; and with a ``urn:uuid:`` prefix.
_GUID_LENGTHS: Final = frozenset({32, 36, 38, 45})


def guid_in(payload: object) -> uuid.UUID | None:
    """Return the GUID a success body carries (JSON string or bare text), else None.

    None for ``""``, ``true``, a text or anything else: the write still took
    effect, the body just does not say which object it made or started.
    """
    if not isinstance(payload, str):
        return None
    text = payload.strip().strip('"').strip()
    return _validate.uuid_or_none(text) if len(text) in _GUID_LENGTHS else None


def _new_id(view: models.View | None, payload: Any) -> uuid.UUID | None:
    """Read a create's answer: the new id, where it carries one."""
    return guid_in(payload)


# -- the definitions ----------------------------------------------------------------


def _no_arguments() -> Request:
    return None, None


def _body(dto: object) -> Request:
    return None, _convert.unstructure(dto)


def _by_id(workflow: object) -> Request:
    return {"id": _validate.id_text(workflow, "workflow id")}, None


def _describe(name: str) -> Request:
    _validate.check_name(name, "name")
    return {"name": name.strip()}, None


GET_METADATA: Final = _listing("get_metadata", models.EndpointInfo)
DESCRIBE: Final = Operation("describe", _describe, _models(models.PropertyInfo))
LIST_ACCOUNTS: Final = _listing("list_accounts", models.Account)
LIST_APPLICATIONS: Final = _listing("list_applications", models.Application)
LIST_REG_APPLICATIONS: Final = _listing("list_reg_applications", models.RegApplication)
LIST_WORKFLOW_TEMPLATES: Final = _listing("list_workflow_templates", models.WorkflowTemplate)
LIST_WORKFLOWS: Final = _listing("list_workflows", models.Workflow)
GET_WORKFLOW: Final = Operation(
    "get_workflow", _by_id, lambda view, payload: _convert.structure(payload, models.Workflow, view)
)


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


def account_problems(new: NewAccount) -> dict[str, str]:
    """Return what is wrong with a new account, by the field at fault (``role_name``
    as ``role``): the one rule the client checks before sending and ``plan``
    checks before anything is written."""
    problems: dict[str, str] = {}
    names: dict[str, object] = {"first_name": new.first_name, "last_name": new.last_name}
    for what, value in names.items():
        if not isinstance(value, str) or not value.strip():
            problems[what] = "must be a non-empty string"
    emails: dict[str, object] = {"email": new.email}
    if new.default_notification_email is not None:
        emails["default_notification_email"] = new.default_notification_email
    for what, value in emails.items():
        if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
            problems[what] = "must be an e-mail address"
    if new.role_name not in ACCOUNT_ROLES:
        allowed = " or ".join(repr(str(r)) for r in ACCOUNT_ROLES)
        problems["role"] = f"must be {allowed}, got {quoted(new.role_name)}"
    if new.country_key is not None and new.country_key not in COUNTRY_CODES:
        problems["country_key"] = (
            f"must be an ISO 3166-1 alpha-2 code such as 'DE', got {quoted(new.country_key)}"
        )
    return problems


def _new_account(new: NewAccount) -> Request:
    problems = [f"{field} {text}" for field, text in account_problems(new).items()]
    _validate.raise_problems(problems, "cannot create the account")
    return _body(
        attrs.evolve(
            new,
            first_name=new.first_name.strip(),
            last_name=new.last_name.strip(),
            email=new.email.strip(),
            role_name=str(new.role_name),
        )
    )


CREATE_ACCOUNT: Final = Operation("create_account", _new_account, _new_id)


# -- registering an application (spec: "Shapes", AddRegApplicationApiDto) -------------


#: A credential whose value is not known yet (an environment reference that
#: ``plan`` does not resolve): taken as given, its value unchecked.
UNRESOLVED: Final = object()


def credential_problems(
    application: models.Application, credentials: Mapping[str, object]
) -> list[str]:
    """Return what is wrong with ``credentials`` for ``application``'s ``credentialFields``.

    Required fields (hidden ones too: the server requires them as well) must
    be present and non-empty, ``select`` values among the field's options, and
    no unknown field may appear. Values are never quoted. The one rule the
    client checks before sending and ``plan`` checks before anything is
    written; a value of :data:`UNRESOLVED` counts as present and unchecked.
    """
    fields = {field.short_name: field for field in application.credential_fields}
    problems = []
    unknown = sorted(str(key) for key in credentials if key not in fields)
    if unknown:
        known = ", ".join(fields) or "none"
        problems.append(f"unknown credential fields {', '.join(unknown)} (known: {known})")
    for short_name, field in fields.items():
        value = credentials.get(short_name)
        label = f"{short_name} ({field.name})" if field.name else short_name
        if value is UNRESOLVED:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
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
    return problems


def _new_registration(
    application: models.Application, tag_text: str, credentials: Mapping[str, object]
) -> Request:
    _validate.check_name(tag_text, "tag_text")
    if not isinstance(credentials, Mapping):
        raise ValidationError("credentials must be a mapping of credential short names to values")
    problems = credential_problems(application, credentials)
    _validate.raise_problems(problems, f"bad credentials for {application.short_name}")
    return _body(NewRegApplication(application.id, tag_text, credentials))


CREATE_REG_APPLICATION: Final = Operation("create_reg_application", _new_registration, _new_id)


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
            resolved[short_name] = _validate.as_uuid(registration, f"registration for {short_name}")
        except ValidationError as error:
            problems.append(str(error))
    _validate.raise_problems(problems, f"cannot create a workflow from {template.name!r}")
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
    problems: list[str] = []
    chosen: dict[uuid.UUID, tuple[models.Block, dict[str, Any]]] = {}
    # Typed for callers; checked for what they may really pass.
    for key, overrides in cast("Mapping[object, object]", variables).items():
        try:
            block = find_block(template, str(key))
        except ValidationError as error:
            problems.append(str(error))
            continue
        if not isinstance(overrides, Mapping):
            problems.append(f"variables for block {key!r} must be a mapping")
            continue
        if block.unique_block_id in chosen:
            problems.append(f"block {key!r} is named twice")
            continue
        chosen[block.unique_block_id] = (block, {**block.variables, **overrides})
    _validate.raise_problems(problems, f"bad variables for {template.name!r}")
    return list(chosen.values())


def find_block(template: models.WorkflowTemplate, key: str) -> models.Block:
    """Return the block of ``template``'s chain that ``key`` names.

    ``key`` is a ``uniqueBlockId`` (any form :class:`uuid.UUID` reads) or a
    ``blockName`` no other block of the chain shares. The one rule for the
    client's ``variables`` and a desired-state file's.

    Raises:
        ValidationError: No block is named so, or the name is ambiguous.
    """
    wanted = _validate.uuid_or_none(key)
    named = []
    for block in template.chain:
        if block.unique_block_id == wanted:
            return block
        if block.block_name == key:
            named.append(block)
    if len(named) == 1:
        return named[0]
    if named:
        raise ValidationError(f"block name {key!r} is ambiguous: use one of its uniqueBlockIds")
    known = ", ".join(repr(name) for name in dict.fromkeys(b.block_name for b in template.chain))
    raise ValidationError(f"no block {key!r} in the template (blocks: {known or 'none'})")


def _new_workflow(
    template: models.WorkflowTemplate,
    name: str,
    applications: Mapping[str, models.RegApplication | uuid.UUID | str],
    variables: Mapping[str, Mapping[str, Any]] | None,
    description: str | None,
) -> Request:
    _validate.check_name(name, "name")
    registrations = resolve_applications(template, applications)
    chain = None
    if variables:
        chain = tuple(
            ChainOverride(block.unique_block_id, merged)
            for block, merged in resolve_variables(template, variables)
        )
    return _body(NewWorkflow(template.id, registrations, name, description, chain))


CREATE_WORKFLOW: Final = Operation("create_workflow", _new_workflow, _new_id)


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
    _validate.raise_problems(problems, "bad block range")


def _run(workflow: object, from_block: int | None, till_block: int | None) -> Request:
    if from_block is None and till_block is None:
        # The whole chain, most runs: RunMetadata's one key, with the id as
        # the caller gave it (no round trip through uuid.UUID).
        return None, {_RUN_WORKFLOW_ID: _validate.id_text(workflow, "workflow id")}
    check_block_range(from_block, till_block)
    workflow_id = _validate.as_uuid(workflow, "workflow id")
    return None, _convert.unstructure(RunMetadata(workflow_id, from_block, till_block))


_RUN_WORKFLOW_ID: Final = _convert.wire_keys(RunMetadata)["workflow_id"]


# The page shows the text ``Workflow will now run``; GetMetaData says a Guid,
# read as the run's id.
RUN_WORKFLOW: Final = Operation("run_workflow", _run, _new_id)


def _scheduler(workflow_id: uuid.UUID, cron: str | None, *, enabled: bool | None = None) -> Request:
    """Turn the scheduler on with ``cron``, or off (None). ``enabled=False``
    with a cron turns it off sending the cron along, as the documentation's
    example does."""
    on = cron is not None if enabled is None else enabled
    return None, _convert.unstructure(SchedulerUpdate(workflow_id, on, cron))


WORKFLOW_SCHEDULER: Final = Operation("workflow_scheduler", _scheduler, _done)


def check_cron(cron: object) -> str:
    """Return the canonical form of a Quartz expression (what is sent)."""
    if isinstance(cron, Cron):
        return str(cron)
    if not isinstance(cron, str):
        raise ValidationError(f"cron must be a Quartz expression string, got {type(cron).__name__}")
    return canonical(cron)  # raises CronError naming the bad field


# Documented answer: ``true``; GetMetaData says a Guid; ``""`` is seen too.
DELETE_WORKFLOW: Final = Operation("delete_workflow", _by_id, _done)
