"""Export an organization as it is: the desired-state file a person would write for it.

:func:`read` reads the organization (its applications, templates and
accounts, then each chosen account's registrations and workflows) and
:func:`build` turns what was read into a desired-state document, which
:meth:`Export.toml` and :meth:`Export.json` write. Planning the file against
the organization it was read from shows nothing to change::

    export = await provision.export.read(canvas)
    Path("accounts.toml").write_text(export.toml())
    print("set:", ", ".join(export.variables))

The rules:

- Accounts are named by id (the e-mail beside each, in TOML).
- A registration is keyed by its application's short name (``QUIN``), or by
  ``QUIN (tag)`` when the account has several of that application. Its
  credentials cannot be read back: each required field is a reference,
  ``${QUIN_APIKEY}`` (:func:`variable_name`), the same for every account, read
  only when ``apply`` registers an application that is missing.
- A workflow is written with its template (by name; by id when the name is
  not unique), its bound registrations, schedule and description, and
  ``variables = "as-found"``: the API does not return variables, so the file
  takes each workflow as it is (see :mod:`canvas_async.provision._plan`).
- What accounts agree on is folded into ``defaults``: a registration or
  workflow that more than half of the accounts hold (two at least) goes
  there, each field with the value most of them have; an account then writes
  only what differs, and ``false`` for one it does not hold.
- What a file cannot declare is left out and said in :attr:`Export.notes`: a
  workflow not made from a template the organization sees, or bound to
  registrations that do not match its template, a registration without a tag.
"""

from __future__ import annotations

import collections
import json
import re
import textwrap
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from canvas_async import bulk
from canvas_async._cron.canonical import canonical_or_none
from canvas_async._errors import CanvasError, ValidationError
from canvas_async._text import printable, safe_json
from canvas_async._validate import uuid_or_none
from canvas_async.models import Account, Application, RegApplication, Workflow

from . import _format, _toml
from ._execute import _all
from ._format import FORMAT_VERSION
from ._load import _merge
from ._plan import Catalogue, _age, split_description
from .shard import Shard, assign
from .spec import AS_FOUND, AccountSpec

if TYPE_CHECKING:
    from canvas_async._client import AccountView, Canvas

__all__ = ["Export", "ExportError", "Holding", "build", "read", "variable_name"]

# What a loader takes for a key the file leaves out, where a value is implied.
_MISSING: Final = object()


@attrs.frozen
class Holding:
    """What one account holds, as read.

    Attributes:
        account: The account.
        registrations: Its registered applications.
        workflows: Its workflows.
    """

    account: Account
    registrations: tuple[RegApplication, ...] = ()
    workflows: tuple[Workflow, ...] = ()


@attrs.frozen
class Export:
    """An organization (or part of it) as a desired-state document.

    Attributes:
        document: The file's data: ``version``, ``defaults``, ``accounts``.
        variables: Every environment variable the file refers to, sorted.
        notes: What the file leaves out or holds once where the account
            holds more, one line each, starting with the account.
        emails: Each account's e-mail, in the file's order (TOML comments).
    """

    document: Mapping[str, Any]
    variables: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    emails: tuple[str | None, ...] = ()

    def toml(self) -> str:
        """Return the file as TOML, its header saying which variables to set."""
        accounts = len(self.document.get("accounts", ()))
        header = [f"Desired state of {accounts:,} accounts, exported by `canvas-async export`."]
        if self.variables:
            header += [
                "",
                "Credentials cannot be read back from Canvas: each is a ${VARIABLE}, used only",
                "when apply registers an application an account is missing. Set them before",
                "plan or apply:",
                *textwrap.wrap(
                    ", ".join(self.variables), 84, initial_indent="  ", subsequent_indent="  "
                ),
            ]
        header += [
            "",
            'Workflow variables cannot be read either: variables = "as-found" takes each',
            "workflow as it is. Declaring its variables instead makes plan report it as",
            "drift, and apply --replace recreates it with them.",
        ]
        return _toml.dumps(self.document, header=header, notes={"accounts": self.emails})

    def json(self) -> str:
        """Return the file as JSON (indented)."""
        return safe_json(json.dumps(self.document, indent=2, ensure_ascii=False)) + "\n"


class ExportError(CanvasError):
    """Accounts could not be read; nothing is exported.

    Attributes:
        failures: Each account's id and why it could not be read.
    """

    def __init__(self, failures: Sequence[tuple[uuid.UUID, str]], total: int) -> None:
        self.failures = tuple(failures)
        shown = "; ".join(f"{account}: {reason}" for account, reason in failures[:5])
        more = f"; and {len(failures) - 5:,} more" if len(failures) > 5 else ""
        super().__init__(
            f"{len(failures):,} of {total:,} accounts could not be read, so nothing was "
            f"exported: {shown}{more}"
        )


def variable_name(application: str, field: str) -> str:
    """Return the environment variable a credential is read from: ``QUIN_APIKEY``.

    The application's short name and the field's, upper case, joined by ``_``;
    anything but letters and digits becomes ``_``.
    """
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{application}_{field}").strip("_").upper()
    return name if name[:1].isalpha() else f"_{name}"


async def read(
    canvas: Canvas,
    *,
    accounts: Iterable[str] = (),
    shard: Shard | None = None,
    concurrency: int | None = None,
    on_progress: Callable[[bulk.Progress], object] | None = None,
) -> Export:
    """Read the organization and return it as a desired-state document.

    Args:
        canvas: The client.
        accounts: Export only these accounts, by id or e-mail (all when empty).
        shard: Export only the accounts this shard of the whole organization
            holds (its accounts ranked as :mod:`.shard` ranks a file's).
        concurrency: Most accounts read at once (the client's by default).
        on_progress: Called with the progress after every account.

    Raises:
        ValidationError: An account asked for is not in the organization.
        ExportError: Accounts could not be read (nothing is returned).
    """
    applications, templates, listed = await _all(
        canvas.applications.list(), canvas.templates.list(), canvas.accounts.list()
    )
    chosen = _chosen(listed, list(accounts), shard)

    async def hold(view: AccountView) -> list[Any]:  # registrations, workflows
        with bulk.step("read registered applications and workflows"):
            return await _all(view.reg_applications.list(), view.workflows.list())

    report = await bulk.for_each_account(
        canvas, [a.id for a in chosen], hold, concurrency=concurrency, on_progress=on_progress
    )
    failures = [(r.key, r.describe_error()) for r in report.failures()]
    if failures:
        raise ExportError(failures, len(chosen))
    values = report.values()
    holdings = [Holding(a, tuple(values[a.id][0]), tuple(values[a.id][1])) for a in chosen]
    return build(holdings, Catalogue.of(applications, templates))


def _chosen(listed: Sequence[Account], refs: list[str], shard: Shard | None) -> list[Account]:
    """The organization's accounts that ``refs`` (ids or e-mails) and ``shard`` pick."""
    chosen = list(listed)
    if refs:
        by_id: dict[uuid.UUID | None, Account] = {a.id: a for a in listed}
        by_email = {(a.email or "").casefold(): a for a in listed}
        wanted, unknown = set(), []
        for ref in refs:
            found = by_id.get(uuid_or_none(ref.strip())) or by_email.get(ref.strip().casefold())
            if found is None:
                unknown.append(ref)
            else:
                wanted.add(found.id)
        if unknown:
            raise ValidationError(
                f"not among the organization's accounts: {', '.join(map(repr, unknown))}"
            )
        chosen = [a for a in chosen if a.id in wanted]
    if shard is not None:
        specs = [AccountSpec(id=a.id, index=n) for n, a in enumerate(listed)]
        mine = {spec.id for spec in assign(specs, shard.count)[shard.index]}
        chosen = [a for a in chosen if a.id in mine]
    return chosen


# -- building the document --------------------------------------------------------------


def build(holdings: Sequence[Holding], catalogue: Catalogue) -> Export:
    """Return what ``holdings`` hold as a desired-state document (see the module's rules).

    Args:
        holdings: The accounts, in the order the file lists them.
        catalogue: The organization's applications and templates.
    """
    reader = _Reader(catalogue)
    apps = [reader.applications(h) for h in holdings]
    flows = [reader.workflows(h, keys) for h, (_, keys) in zip(holdings, apps, strict=True)]
    tables: dict[_Kind, Any] = {"applications": [a for a, _ in apps], "workflows": flows}
    folded = {kind: _fold(kind, own, catalogue) for kind, own in tables.items()}
    defaults = {kind: table for kind, (table, _) in folded.items() if table}
    accounts = []
    for n, holding in enumerate(holdings):
        entry: dict[str, Any] = {"id": str(holding.account.id)}
        entry.update((kind, own[n]) for kind, (_, own) in folded.items() if own[n])
        accounts.append(entry)
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    if defaults:
        document["defaults"] = defaults
    document["accounts"] = accounts
    return Export(
        document,
        tuple(sorted(reader.variables)),
        tuple(reader.notes),
        tuple(h.account.email for h in holdings),
    )


@attrs.define
class _Reader:
    """Turns each account's models into full tables (every key written), noting what it
    cannot declare."""

    catalogue: Catalogue
    variables: set[str] = attrs.Factory(set)
    notes: list[str] = attrs.Factory(list)

    def note(self, holding: Holding, text: str) -> None:
        self.notes.append(printable(f"{holding.account.id} ({holding.account.email}): {text}"))

    def applications(
        self, holding: Holding
    ) -> tuple[dict[str, dict[str, Any]], dict[uuid.UUID, str]]:
        """Return the account's registrations by key, and each registration's key."""
        by_app_id = {a.id: a for a in self.catalogue.applications.values()}
        grouped: dict[uuid.UUID, list[RegApplication]] = {}
        for reg in holding.registrations:
            grouped.setdefault(reg.application_id, []).append(reg)
        tables: dict[str, dict[str, Any]] = {}
        keys: dict[uuid.UUID, str] = {}
        for app_id, regs in grouped.items():
            app = by_app_id.get(app_id)
            if app is None:
                self.note(
                    holding,
                    f"{len(regs)} registrations of an application not offered "
                    f"to the organization ({app_id}) are left out",
                )
                continue
            tags: dict[str, list[RegApplication]] = {}
            for reg in regs:
                if reg.tag_text and reg.tag_text.strip():
                    tags.setdefault(reg.tag_text, []).append(reg)
                else:
                    self.note(
                        holding,
                        f"registration {reg.id} of {app.short_name} has no tag, which a file "
                        "names registrations by: left out",
                    )
            for tag, same in tags.items():
                key = app.short_name if len(tags) == 1 else f"{app.short_name} ({tag})"
                tables[key] = {
                    "application": app.short_name,
                    "tag": tag,
                    "credentials": self.credentials(app),
                }
                keys.update((reg.id, key) for reg in same)
                if len(same) > 1:
                    self.note(
                        holding,
                        f"{len(same)} registrations of {app.short_name} tagged {tag!r}: the "
                        "file declares one; plan shows the others as duplicates",
                    )
        return tables, keys

    def credentials(self, app: Application) -> dict[str, str]:
        refs = {}
        for field in app.credential_fields:
            if not field.optional:  # the ones a registration needs (hidden ones too)
                name = variable_name(app.short_name, field.short_name)
                self.variables.add(name)
                refs[field.short_name] = f"${{{name}}}"
        return refs

    def workflows(
        self, holding: Holding, keys: Mapping[uuid.UUID, str]
    ) -> dict[str, dict[str, Any]]:
        """Return the account's workflows by name, each as plan will find it."""
        tables: dict[str, dict[str, Any]] = {}
        shorts = {reg.id: reg.short_name for reg in holding.registrations}
        for workflow in sorted(holding.workflows, key=_age):  # as plan keeps the oldest
            name = workflow.name
            why = self.left_out(workflow, tables, keys, shorts)
            if why:
                self.note(holding, f"workflow {name!r} ({workflow.id}) {why}")
                continue
            template = self.catalogue.template(str(workflow.workflow_template_id))
            assert template is not None  # left_out() checked
            # By name where the name finds this template as plan reads it, else by id.
            by_name = self.catalogue.template(template.name) is template
            tables[name] = {
                "template": template.name if by_name else str(template.id),
                "applications": {
                    shorts[reg_id]: keys[reg_id] for reg_id in workflow.reg_application_ids
                },
                "variables": AS_FOUND,
                "schedule": canonical_or_none(workflow.cron) if workflow.is_scheduled else False,
                "description": split_description(workflow.description)[0],
            }
        return tables

    def left_out(
        self,
        workflow: Workflow,
        tables: Mapping[str, Any],
        keys: Mapping[uuid.UUID, str],
        shorts: Mapping[uuid.UUID, str],
    ) -> str | None:
        """Why ``workflow`` cannot be declared as it is, or None."""
        if not workflow.name.strip():
            return "has no name, which a file names workflows by: left out"
        if workflow.name in tables:
            return "has the name of an older one, which the file declares: left out"
        template_id = workflow.workflow_template_id
        template = None if template_id is None else self.catalogue.template(str(template_id))
        if template is None:
            return "is not made from a template the organization offers: left out"
        bound = workflow.reg_application_ids
        if any(reg_id not in keys for reg_id in bound):
            return "is bound to a registration the file cannot name: left out"
        if sorted(shorts[reg_id] for reg_id in bound) != sorted(template.applications):
            return (
                f"is bound to {', '.join(sorted(shorts[r] for r in bound)) or 'nothing'}, not "
                f"to one of each application of its template ({', '.join(template.applications)})"
                ": left out"
            )
        if workflow.is_scheduled and canonical_or_none(workflow.cron) is None:
            return f"is scheduled on a cron that cannot be read ({workflow.cron!r}): left out"
        return None


# -- folding what accounts agree on into defaults ---------------------------------------

#: The two tables of an account that defaults can hold.
_Kind = Literal["applications", "workflows"]


#: What the loader takes for a key of each kind's table when the file leaves it out.
_IMPLIED: Final[Mapping[_Kind, Mapping[str, object]]] = {
    "applications": {"credentials": {}},
    "workflows": {"applications": {}, "variables": {}, "schedule": False, "description": ""},
}


def _implied(kind: _Kind, key: str, field: str, sub: str | None) -> object:
    """What the loader takes for ``field`` (its ``sub`` key) of the ``kind`` table ``key``
    when the file leaves it out."""
    if sub is not None:  # a template application binds the application key of its own name
        return sub if (kind, field) == ("workflows", "applications") else _MISSING
    if (kind, field) == ("applications", "application"):
        return key
    return _IMPLIED[kind].get(field, _MISSING)


def _expand(
    kind: _Kind, key: str, table: Mapping[str, Any], catalogue: Catalogue
) -> dict[str, Any] | None:
    """The ``kind`` table ``key`` as the loader reads it, every key written; None if it
    cannot be read so."""
    keys = _format.APPLICATION if kind == "applications" else _format.WORKFLOW
    full = {k.name: table.get(k.name, _implied(kind, key, k.name, None)) for k in keys}
    if kind == "applications":
        return full
    template = catalogue.template(str(full["template"]))
    bindings = full["applications"]
    if template is None or set(bindings) - set(template.applications):
        return None
    full["applications"] = {short: bindings.get(short, short) for short in template.applications}
    return full


def _fold(
    kind: _Kind, tables: Sequence[Mapping[str, dict[str, Any]]], catalogue: Catalogue
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the defaults of one ``kind`` (``applications``, ``workflows``), and what each
    account writes beside them."""
    names = list(dict.fromkeys(name for own in tables for name in own))
    defaults: dict[str, Any] = {}
    for name in names:
        held = [own[name] for own in tables if name in own]
        if len(held) < 2 or 2 * len(held) <= len(tables):
            continue
        default = _override(kind, name, {}, _most_common(held))
        if all(
            _expand(kind, name, _merge(default, _override(kind, name, default, full)), catalogue)
            == _expand(kind, name, full, catalogue)
            for full in held
        ):
            defaults[name] = default
    accounts = []
    for own in tables:
        entry: dict[str, Any] = {}
        for name in names:
            if name in own:
                override = _override(kind, name, defaults.get(name, {}), own[name])
                if override or name not in defaults:
                    entry[name] = override
            elif name in defaults:
                entry[name] = False
        accounts.append(entry)
    return defaults, accounts


def _most_common(tables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each key's value most tables have (a table's values key by key), ties to the first."""
    chosen: dict[str, Any] = {}
    for field in dict.fromkeys(f for table in tables for f in table):
        values = [table[field] for table in tables if field in table]
        if all(isinstance(v, Mapping) for v in values):
            chosen[field] = _most_common(values)
            continue
        counts = collections.Counter(json.dumps(v, sort_keys=True) for v in values)
        chosen[field] = json.loads(counts.most_common(1)[0][0])
    return chosen


def _override(
    kind: _Kind, name: str, default: Mapping[str, Any], table: Mapping[str, Any]
) -> dict[str, Any]:
    """What an account writes so that ``default`` merged with it reads as ``table``.

    With no default: ``table`` without what the loader implies (a binding to the
    same name, no schedule).
    """
    out: dict[str, Any] = {}
    for field, value in table.items():
        if isinstance(value, Mapping):
            base = default.get(field, {})
            changed = {
                k: v for k, v in value.items() if base.get(k, _implied(kind, name, field, k)) != v
            }
            if changed:
                out[field] = changed
        elif default.get(field, _implied(kind, name, field, None)) != value:
            out[field] = value
    return out
