"""Read a desired-state file (TOML or JSON) into a :class:`DesiredState`.

Every problem in the file is collected and reported at once, each with the
path of the value at fault (``accounts[3].applications.QUIN.tag``), before
anything is sent. The format::

    version = 1

    [defaults.applications.QUIN]            # key: the application short name
    tag = "Quinyx 2022-04-28"                # the registration's identity
    credentials.apikey = "${QUINYX_KEY}"     # environment references only...
    credentials.environment = { plain = "test" }   # ...or values marked plain

    [defaults.workflows."Employee export"]   # key: the workflow's name
    template = "Quinyx Employee Export Into FTP(CSV)"   # name or id
    schedule = "0 0/5 * ? * * *"             # Quartz cron, or false
    variables."API - Get Employees".apiKeys = ["${QUINYX_KEY}"]

    [[accounts]]
    id = "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1"

    [[accounts]]                             # found by e-mail, created if missing
    email = "ops@example.com"
    first_name = "Ada"
    last_name = "Lovelace"
    workflows."Employee export".schedule = false

    [[accounts]]                             # a workflow made elsewhere, taken as it is
    id = "b8c2bb44-2c57-4f8e-9d9a-3b1f0c1d6a10"
    workflows."Employee export".variables = "as-found"

Workflow variables cannot be read back from the API: what ``variables = "as-found"``
(adoption) means for plan and apply is said in :mod:`canvas_async.provision._plan`.

The keys each table accepts are listed once (``_format``), and the JSON
Schema editors read is made from that list (:mod:`~canvas_async.provision.schema`).
"""

from __future__ import annotations

import collections
import contextlib
import difflib
import functools
import json
import re
import tomllib
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from canvas_async import _operations as op
from canvas_async._cron.canonical import canonical
from canvas_async._cron.fields import CronError
from canvas_async._errors import ValidationError
from canvas_async._text import QUOTE_LIMIT, quoted
from canvas_async._validate import uuid_or_none

from . import _format
from ._format import EMAIL_LIMIT, FORMAT_VERSION, SCHEMA_KEY, Key
from .spec import (
    AS_FOUND,
    ENV_REF_PATTERN,
    AccountSpec,
    ApplicationSpec,
    CredentialValue,
    DesiredState,
    EnvRef,
    NewAccount,
    Plain,
    WorkflowSpec,
    map_leaves,
)

#: The formats read, by the file name's suffix (no suffix: TOML, as ``<(...)`` gives).
FORMATS: Final = {".toml": "toml", ".json": "json", "": "toml"}
# "$NAME": a reference written without its braces.
_BARE_REF: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

_T = TypeVar("_T")

#: What a message calls a value of each type (bool before int: a bool is an int).
_KINDS: Final = (
    (type(None), "nothing"),
    (bool, "a boolean"),
    (int | float, "a number"),
    (str, "text"),
    (list, "an array"),
    (Mapping, "a table"),
)

#: The client's names of a new account's fields -> the file's keys.
_ACCOUNT_KEYS: Final = {
    "country_key": "country",
    "default_notification_email": "notification_email",
}


class DesiredStateError(ValidationError):
    """The desired-state file is not valid.

    Attributes:
        source: The file, for messages.
        problems: One line per problem, each starting with the value's path.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{lines}")


def load(path: str | Path) -> DesiredState:
    """Read the desired-state file at ``path``: ``.json`` is JSON, ``.toml`` (or no suffix) TOML.

    Raises:
        DesiredStateError: The file cannot be read or is not valid.
    """
    return from_data(read(path), source=str(path))


def read(path: str | Path) -> object:
    """Return the document at ``path`` as parsed data, unchecked (for :func:`locate`).

    Raises:
        DesiredStateError: The file cannot be read or parsed.
    """
    path = Path(path)
    return _parse(decode(file_bytes(path), str(path)), file_format(path), str(path))


def file_bytes(path: Path) -> bytes:
    """Return the bytes of the file at ``path``, its suffix checked first (:func:`file_format`).

    Raises:
        DesiredStateError: The suffix is not read, or the file cannot be read.
    """
    file_format(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DesiredStateError(str(path), [f"cannot read the file: {exc.strerror}"]) from None


def file_format(source: str | Path) -> str:
    """Return the format a file's name says: ``"json"`` for ``.json``, ``"toml"`` for
    ``.toml`` or no suffix (a URL's path is read without its query).

    Raises:
        DesiredStateError: The name ends in another suffix (``.yaml``...).
    """
    text = str(source)
    name = urlsplit(text).path if "://" in text else text
    suffix = PurePath(name).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    what = "YAML is not supported" if suffix in (".yaml", ".yml") else f"{suffix} is not read"
    raise DesiredStateError(
        text, [f"{what}: write the desired state as TOML (.toml) or JSON (.json)"]
    )


def decode(content: bytes, source: str) -> str:
    """Return a file's bytes as UTF-8 text.

    Raises:
        DesiredStateError: They are not UTF-8; the message names the line, the
            column and the byte (1-based, as ``cmp`` counts) of the first bad one.
    """
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = content[: exc.start]
        line_start = before.rfind(b"\n") + 1
        line = before.count(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        problem = (
            f"line {line}, column {column}: not UTF-8 text: byte {exc.start + 1:,} is "
            f"0x{content[exc.start]:02X} ({exc.reason}); save the file as UTF-8"
        )
        raise DesiredStateError(source, [problem]) from None


def loads(text: str, *, fmt: str = "toml", source: str = "<string>") -> DesiredState:
    """Parse desired state from ``text`` in ``fmt`` (``"toml"`` or ``"json"``)."""
    return from_data(_parse(text, fmt, source), source=source)


def _parse(text: str, fmt: str, source: str) -> object:
    try:
        if fmt == "json":
            return json.loads(text)
        if fmt == "toml":
            return tomllib.loads(text)
        raise ValueError(f"unknown format {fmt!r}; use 'toml' or 'json'")
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise DesiredStateError(source, [f"{where}: not valid JSON: {exc.msg}"]) from None
    except tomllib.TOMLDecodeError as exc:
        # Python < 3.14 gives the place only in the message: "... (at line 3, column 5)".
        text = str(exc)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
        if found:
            text = f"line {found[1]}, column {found[2]}: not valid TOML: {text[: found.start()]}"
        else:
            text = f"not valid TOML: {text}"
        raise DesiredStateError(source, [text]) from None


def from_data(data: object, *, source: str = "<data>") -> DesiredState:
    """Build desired state from already-parsed data (dicts, lists, scalars)."""
    checker = _Checker()
    accounts = checker.document(data)
    if checker.problems:
        raise DesiredStateError(source, locate(checker.problems, data))
    return DesiredState(tuple(accounts), source=source)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'X'?"`` for the closest of ``choices``, or ``""``."""
    choices = list(choices)  # read twice: a generator would be empty the second time
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        folded = {c.casefold(): c for c in choices}
        close = [folded[word.casefold()]] if word.casefold() in folded else []
    return f"; did you mean {close[0]!r}?" if close else ""


# ``accounts[12].workflows."Employee export".shcedule: message``
_ACCOUNT_PROBLEM: Final = re.compile(
    r'accounts\[(\d+)\]((?:\.(?:"(?:[^"\\]|\\.)*"|[^.\s":]+))*): (.*)', re.DOTALL
)
_PATH_KEY: Final = re.compile(r'\.(?:("(?:[^"\\]|\\.)*")|([^.\s":]+))')


def locate(problems: Iterable[str], data: object) -> list[str]:
    """Report each problem once, at the place it is written.

    A problem in a value an account inherits from ``[defaults]`` (the account
    does not write it itself) is reported once, at ``defaults...``, with the
    number of accounts that inherit it, instead of once per account.

    Args:
        problems: Lines as :class:`DesiredStateError` holds them, paths first.
        data: The parsed file they were found in.
    """
    top = data if isinstance(data, Mapping) else {}
    defaults, accounts = top.get("defaults"), top.get("accounts")
    located: list[str] = []
    inherited: collections.Counter[str] = collections.Counter()
    for problem in problems:
        found = _ACCOUNT_PROBLEM.fullmatch(problem)
        if found and isinstance(defaults, Mapping) and isinstance(accounts, list):
            index, path, message = int(found[1]), found[2], found[3]
            keys = [
                json.loads(quoted) if quoted else bare for quoted, bare in _PATH_KEY.findall(path)
            ]
            account = accounts[index] if index < len(accounts) else None
            if keys and _holds(defaults, keys) and not _holds(account, keys):
                line = f"{functools.reduce(key_path, keys, 'defaults')}: {message}"
                if line not in inherited:
                    located.append(line)
                inherited[line] += 1
                continue
        located.append(problem)
    return [
        f"{line} (inherited by {inherited[line]:,} accounts)" if inherited[line] > 1 else line
        for line in located
    ]


def _holds(table: object, keys: list[str]) -> bool:
    """Whether ``table`` writes a value at ``keys`` itself."""
    for key in keys:
        if not isinstance(table, Mapping) or key not in table:
            return False
        table = table[key]
    return True


class _Checker:
    """Walks the parsed document, collecting every problem with its path.

    What the defaults declare is read once and shared by every account that
    takes it as is: one spec of each default application and workflow, one
    :class:`EnvRef` per variable, one parse per cron text. A file of 20,000
    accounts then costs an account spec per account, not a copy of the
    defaults each.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._defaults: set[int] = set()  # ids of the defaults' tables (kept alive by them)
        self._shared: dict[tuple[Hashable, int], Any] = {}
        self.ref = functools.cache(_env_ref)  # one EnvRef per name, for every account

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def wrong(self, path: str, must: str, value: object) -> None:
        """Report that the value at ``path`` must ``must`` (``be a table``), saying what it is."""
        kind = next((word for cls, word in _KINDS if isinstance(value, cls)), type(value).__name__)
        self.problem(path, f"must {must}, not {kind}")

    # -- structure ---------------------------------------------------------------

    def table(self, value: object, path: str, keys: tuple[Key, ...] | None) -> dict[str, Any]:
        """Return ``value`` as a table of text keys; ``keys``: the only keys it may hold (the
        list the JSON Schema is made from too)."""
        if not isinstance(value, Mapping):
            self.wrong(path, "be a table", value)
            return {}
        for key in value:
            if not isinstance(key, str):
                self.problem(path, f"key {quoted(key)} must be text")
        if keys is not None:
            allowed = {key.name for key in keys}
            unknown = sorted(k for k in value if isinstance(k, str) and k not in allowed)
            for key in unknown:
                hint = did_you_mean(key, allowed)
                known = ", ".join(sorted(allowed))
                self.problem(
                    key_path(path, key),
                    f"unknown key{hint}" + ("" if hint else f" (expected one of: {known})"),
                )
        return {k: v for k, v in value.items() if isinstance(k, str)}

    def text(self, value: object, path: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.problem(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.wrong(path, "be non-empty text", value)
            return None
        return value

    def flag(self, value: object, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.wrong(path, "be true or false", value)
        return None

    # -- sharing what the defaults declare ----------------------------------------

    def shared(self, kind: Hashable, raw: object, build: Callable[[], _T]) -> _T:
        """Return ``build()``, the spec of ``raw``; once per table of the defaults.

        A spec whose reading found a problem is not kept, so each account
        taking the faulty table reports it under its own path.
        """
        if id(raw) not in self._defaults:
            return build()
        key = (kind, id(raw))
        if key in self._shared:
            found: _T = self._shared[key]
            return found
        problems = len(self.problems)
        built = build()
        if len(self.problems) == problems:
            self._shared[key] = built
        return built

    # -- the document ------------------------------------------------------------

    def document(self, data: object) -> list[AccountSpec]:
        top = self.table(data, "file", _format.FILE)
        if SCHEMA_KEY in top and not isinstance(top[SCHEMA_KEY], str):
            self.wrong(f'"{SCHEMA_KEY}"', "be text (the schema's location)", top[SCHEMA_KEY])
        version = top.get("version", FORMAT_VERSION)
        if isinstance(version, str) and version.strip() == str(FORMAT_VERSION):
            self.problem(
                "version",
                f"must be the number {FORMAT_VERSION}, not the text {quoted(version)} "
                f"(write version = {FORMAT_VERSION}, without quotes)",
            )
        elif version != FORMAT_VERSION or isinstance(version, bool):
            self.problem(
                "version",
                f"unsupported format version {quoted(version)}; this reads {FORMAT_VERSION}",
            )
        defaults = self.table(top.get("defaults", {}), "defaults", _format.DEFAULTS)
        self._defaults = {id(table) for table in _tables(defaults)}
        raw_accounts = top.get("accounts")
        if raw_accounts is None:
            self.problem("accounts", "is required: declare at least one [[accounts]]")
            return []
        if not isinstance(raw_accounts, list):
            self.wrong("accounts", "be an array of tables", raw_accounts)
            return []
        accounts = []
        seen: dict[str, str] = {}
        for index, raw in enumerate(raw_accounts):
            path = f"accounts[{index}]"
            merged = _merge(defaults, self.table(raw, path, _format.ACCOUNT))
            account = self.account(merged, path, index)
            if account is None:
                continue
            identity = account.label.casefold()
            if identity in seen:
                self.problem(path, f"declares {account.label} again (first at {seen[identity]})")
                continue
            seen[identity] = path
            accounts.append(account)
        return accounts

    def account(self, raw: dict[str, Any], path: str, index: int) -> AccountSpec | None:
        email = self.text(raw.get("email"), key_path(path, "email"))
        account_id = uuid_or_none(str(raw["id"])) if "id" in raw else None
        if "id" in raw and account_id is None:
            self.problem(key_path(path, "id"), f"not an account id: {quoted(raw['id'])}")
        if sum(name in raw for name in _format.NAMED_BY) != 1:
            self.problem(path, "name the account by exactly one of 'id' or 'email'")
        if email is not None and ("@" not in email or len(email) > EMAIL_LIMIT):
            why = (
                "not an e-mail address"
                if "@" not in email
                else f"is {len(email):,} characters long; an e-mail address has at most "
                f"{EMAIL_LIMIT}"
            )
            self.problem(key_path(path, "email"), f"{why}: {quoted(email)}")
            email = None
        new = None
        created_with = _format.NAMED_BY["email"]
        if "email" in raw:
            new = self.new_account(raw, path, email)
        elif set(created_with) & raw.keys():
            self.problem(path, f"{'/'.join(created_with)} only apply to accounts named by 'email'")
        apps = self.named(raw, path, "applications", "application", self.application)
        keys = frozenset(a.key for a in apps)
        workflow = functools.partial(self.workflow, app_keys=keys)
        workflows = self.named(raw, path, "workflows", ("workflow", keys), workflow)
        if account_id is None and email is None:
            return None
        return AccountSpec(
            id=account_id,
            email=None if account_id is not None else email,
            new=new,
            applications=apps,
            workflows=workflows,
            index=index,
        )

    def new_account(self, raw: dict[str, Any], path: str, email: str | None) -> NewAccount | None:
        at = functools.partial(key_path, path)
        first = self.text(raw.get("first_name"), at("first_name"), required=True)
        last = self.text(raw.get("last_name"), at("last_name"), required=True)
        role = raw.get("role", "User")
        country = self.text(raw.get("country"), at("country"))
        activated = self.flag(raw.get("activated", True), at("activated"))
        notify = self.flag(raw.get("global_notifications"), at("global_notifications"))
        phone = self.text(raw.get("phone"), at("phone"))
        notification = self.text(raw.get("notification_email"), at("notification_email"))
        # The client's rule for a new account (it runs again before the create is
        # sent): a file plan takes, apply takes. What is missing is reported above.
        dto = op.NewAccount(
            first_name=first or "",
            last_name=last or "",
            email=email or "",
            role_name=role,
            country_key=country.upper() if country else None,
            default_notification_email=notification,
        )
        given = {"first_name": first, "last_name": last, "email": email}
        reported = {field for field, value in given.items() if value is None}
        problems = {
            field: text for field, text in op.account_problems(dto).items() if field not in reported
        }
        for field, text in problems.items():
            self.problem(at(_ACCOUNT_KEYS.get(field, field)), text)
        if problems or first is None or last is None or email is None:
            return None
        return NewAccount(
            first_name=first,
            last_name=last,
            role=role,
            phone=phone,
            country=dto.country_key,
            activated=True if activated is None else activated,
            global_notifications=notify,
            notification_email=notification,
        )

    def named(
        self,
        account: dict[str, Any],
        path: str,
        key: str,
        kind: Hashable,
        build: Callable[[str, object, str], _T | None],
    ) -> tuple[_T, ...]:
        """Return the specs ``build`` makes of the account's table ``key`` (of applications
        or workflows by name); once per table of the defaults, as each of its entries."""
        raw, path = account.get(key, {}), key_path(path, key)

        def specs() -> tuple[_T, ...]:
            found = []
            for name, value in self.table(raw, path, None).items():
                if value is False:
                    continue  # an account dropping what the defaults declare
                spec = self.shared(
                    (kind, name), value, functools.partial(build, name, value, key_path(path, name))
                )
                if spec is not None:
                    found.append(spec)
            return tuple(found)

        return self.shared(kind, raw, specs)

    def application(self, key: str, value: object, app_path: str) -> ApplicationSpec | None:
        table = self.table(value, app_path, _format.APPLICATION)
        short = self.text(table.get("application", key), key_path(app_path, "application"))
        tag = self.text(table.get("tag"), key_path(app_path, "tag"), required=True)
        creds = self.credentials(table.get("credentials", {}), key_path(app_path, "credentials"))
        if short is None or tag is None:
            return None
        return ApplicationSpec(key, short, tag, creds)

    def credentials(self, raw: object, path: str) -> dict[str, CredentialValue]:
        values: dict[str, CredentialValue] = {}
        for name, value in self.table(raw, path, None).items():
            field = key_path(path, name)
            if isinstance(value, str):
                ref = self.ref(value)
                bare = _BARE_REF.fullmatch(value)
                if ref is not None:
                    values[name] = ref
                elif bare:
                    variable = bare[1]
                    hint = (
                        f'write "${{{variable}}}" (with braces) to use the environment variable '
                        f"{variable}"
                        if len(variable) <= QUOTE_LIMIT
                        else 'write it with braces, "${NAME}", to use an environment variable'
                    )
                    self.problem(
                        field, f"is {quoted(value)}, which is read as a literal value: {hint}"
                    )
                else:
                    self.problem(
                        field,
                        "is a literal credential value; credentials must not be written in "
                        'the file: write "${VARIABLE}" and set VARIABLE in the environment '
                        '(or, for a setting that is not a secret, { plain = "..." })',
                    )
            elif isinstance(value, Mapping) and set(value) == {"plain"}:
                plain = value["plain"]
                if plain is None or isinstance(plain, str | bool | int | float):
                    values[name] = Plain(plain)
                else:
                    self.problem(field, "a plain value must be text, a number or a boolean")
            else:
                self.wrong(field, 'be "${VARIABLE}" or { plain = ... }', value)
        return values

    def workflow(
        self, name: str, value: object, wf_path: str, app_keys: frozenset[str]
    ) -> WorkflowSpec | None:
        if not name.strip():
            self.problem(wf_path, "a workflow name must not be empty")
            return None
        table = self.table(value, wf_path, _format.WORKFLOW)
        template = self.text(table.get("template"), key_path(wf_path, "template"), required=True)
        bindings = self.bindings(table.get("applications", {}), wf_path, app_keys)
        variables = self.variables(table.get("variables", {}), key_path(wf_path, "variables"))
        schedule = self.schedule(table.get("schedule", False), key_path(wf_path, "schedule"))
        description = table.get("description")
        if description is not None and not isinstance(description, str):
            self.problem(key_path(wf_path, "description"), "must be text")
            description = None
        if template is None:
            return None
        return WorkflowSpec(name, template, bindings, variables, schedule, description)

    def bindings(self, raw: object, wf_path: str, app_keys: frozenset[str]) -> dict[str, str]:
        path = key_path(wf_path, "applications")
        bindings: dict[str, str] = {}
        for short, key in self.table(raw, path, None).items():
            if not isinstance(key, str):
                self.wrong(key_path(path, short), "name an application key", key)
            elif key not in app_keys:
                known = ", ".join(sorted(app_keys)) or "none"
                self.problem(
                    key_path(path, short),
                    f"names application {quoted(key)}, which this account does not declare "
                    f"(declared: {known})",
                )
            else:
                bindings[short] = key
        return bindings

    def variables(self, raw: object, path: str) -> dict[str, dict[str, Any]] | None:
        if raw == AS_FOUND:
            return None  # taken as found (WorkflowSpec.adopted)
        if isinstance(raw, str):
            hint = did_you_mean(raw, [AS_FOUND]) or f' (or "{AS_FOUND}")'
            self.problem(path, f"must be a table of blocks, not the text {quoted(raw)}{hint}")
            return {}
        return {
            block: map_leaves(self.table(values, key_path(path, block), None), self.with_refs)
            for block, values in self.table(raw, path, None).items()
        }

    def with_refs(self, value: Any) -> Any:
        """Return ``value`` as an EnvRef if it is text that is exactly ``${NAME}``."""
        return (self.ref(value) or value) if isinstance(value, str) else value

    def schedule(self, raw: object, path: str) -> str | None:
        if raw is False or raw is None:
            return None
        if not isinstance(raw, str):
            self.wrong(path, "be a Quartz cron expression or false", raw)
            return None
        try:
            return canonical(raw)  # the same text on many accounts is parsed once
        except CronError as exc:
            self.problem(path, _cron_problem(raw, exc))
            return None


def _env_ref(text: str) -> EnvRef | None:
    """Return ``text`` as an EnvRef if it is ``${NAME}``."""
    match = ENV_REF_PATTERN.fullmatch(text)
    return EnvRef(match[1]) if match else None


def _cron_problem(raw: str, exc: Exception) -> str:
    """Say what is wrong with a schedule's cron; a Unix cron is given back in Quartz."""
    if len(raw.split()) == 5:
        from canvas_async.schedule import Cron  # noqa: PLC0415 - only when needed

        with contextlib.suppress(CronError):
            return (
                f"{quoted(raw)} is a five-field Unix cron; in Quartz, which Canvas reads, "
                f"write {str(Cron.from_unix(raw))!r}"
            )
    return str(exc)


def _tables(table: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return ``table`` and every table nested in it."""
    found = [table]
    for value in table.values():
        if isinstance(value, Mapping):
            found += _tables(value)
    return found


def _merge(defaults: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``defaults``: tables merge key by key, anything else replaces."""
    merged = dict(defaults)
    for key, value in override.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(base, value)
        else:
            merged[key] = value
    return merged


def key_path(path: str, key: str) -> str:
    """Return the path of ``key`` under ``path`` as problems name it: a key that is
    not a plain name quoted (``workflows."Employee export"``), a long one clipped."""
    if len(key) > QUOTE_LIMIT:  # a key is quoted in the path: clipped as a value is
        clipped = json.dumps(key[:QUOTE_LIMIT], ensure_ascii=False)
        return f"{path}.{clipped}... ({len(key):,} characters)"
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}.{json.dumps(key, ensure_ascii=False)}"
