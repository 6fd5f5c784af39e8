"""What the emulator holds when it starts.

``samples.json`` holds the vendor's sample answers (seed 001) copied as they
are, plus what they leave out and the emulator needs: the caller's own
account, the applications the samples refer to (FTP Server, File Hub,
Microsoft SQL On-premise, MyStore, Fiken; their credential fields are the
emulator's invention), the block chains of the sample workflows, and an
account of a foreign organization, with an application and a workflow, that
scoping must keep out of reach.
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Final, Literal

from ._input import NewRegApplication, NewWorkflow
from ._records import (
    AccountRecord,
    ApplicationRecord,
    Block,
    RegApplicationRecord,
    TemplateRecord,
    WorkflowRecord,
)
from ._state import ROLE_IDS, EmulatorState
from ._time import net_timestamp

SeedName = Literal["samples", "empty"]
"""``"samples"``: the documented sample data; ``"empty"``: only the caller's
account, the application catalog and the workflow templates."""

_FIRST_NAMES: Final = (
    "Anna", "Bjorn", "Camille", "Dmitri", "Eva", "Farid", "Greta", "Hiro", "Ingrid", "Jonas",
    "Kari", "Lars", "Maja", "Nils", "Olga", "Paal", "Rania", "Sven", "Tuva", "Ulrik",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Andersen", "Berg", "Dahl", "Eriksen", "Fossum", "Hansen", "Johansen", "Karlsen", "Lie",
    "Moen", "Nilsen", "Olsen", "Pedersen", "Solberg", "Strand", "Vik",
)  # fmt: skip
_SYNTHETIC_EPOCH: Final = datetime(2020, 1, 1, tzinfo=UTC)


@functools.cache
def _samples_text() -> str:
    return (
        resources.files("canvas_async.testing").joinpath("samples.json").read_text(encoding="utf-8")
    )


def seed_state(state: EmulatorState, seed: SeedName, *, synthetic: int, rng: random.Random) -> None:
    """Fill an empty ``state`` with the ``seed`` data and ``synthetic`` managed accounts
    drawn from ``rng`` (ids, names, roles)."""
    # Parsed afresh each time: every emulator gets records of its own.
    samples: dict[str, Any] = json.loads(_samples_text())
    caller = AccountRecord.from_wire(samples["caller"])
    state.caller_id = caller.id
    state.accounts[caller.id] = caller
    _load(state.applications, ApplicationRecord, samples["applications"])
    _load(state.templates, TemplateRecord, samples["workflowTemplates"])
    if seed == "samples":
        for account in samples["accounts"]:
            state.add_managed_account(AccountRecord.from_wire(account))
        _load(state.accounts, AccountRecord, samples["foreignAccounts"])
        _load(state.reg_applications, RegApplicationRecord, samples["regApplications"])
        _load(state.workflows, WorkflowRecord, samples["workflows"])
        for flow_id, chain in samples["workflowChains"].items():
            state.workflows[uuid.UUID(flow_id)].chain = [Block.from_wire(b) for b in chain]
    for account in synthetic_accounts(synthetic, rng, organization=caller):
        state.add_managed_account(account)


def _load(
    into: MutableMapping[uuid.UUID, Any], record: type[Any], values: Iterable[object]
) -> None:
    """Read each of ``values`` as a ``record`` into ``into`` by its id."""
    for value in values:
        each = record.from_wire(value)
        into[each.id] = each


def synthetic_accounts(
    count: int, rng: random.Random, *, organization: AccountRecord
) -> list[AccountRecord]:
    """Return ``count`` plausible accounts in ``organization``'s organization.

    Everything is drawn from ``rng``, so the same seed gives the same accounts;
    e-mail addresses are unique (they carry the account's number).
    """
    accounts = []
    for number in range(1, count + 1):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        role = rng.choice(("User", "SuperPartner"))
        created = _SYNTHETIC_EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 24 * 3600))
        accounts.append(
            AccountRecord(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{number:05d}@example.org".lower(),
                organization_id=organization.organization_id,
                organization_name=organization.organization_name,
                role_id=ROLE_IDS[role],
                role=role,
                date_created=net_timestamp(created),
            )
        )
    return accounts


#: Credentials for :func:`provision_accounts` (what the sample applications ask for).
_PROVISION_CREDENTIALS: Final = {
    "QUIN": {"apikey": "emulator-key", "environment": "test"},
    "FTP": {"username": "u", "password": "p", "port": "21", "address": "ftp.example.org"},
}


def provision_accounts(state: EmulatorState, account_ids: Iterable[uuid.UUID]) -> None:
    """Arrange what a first ``apply`` leaves in each account, without requests.

    Each account gets a Quinyx and an FTP registration and a workflow
    ("Export") from the template that uses both: a large, realistic state for
    scale tests and benchmarks, ready in seconds.
    """
    apps = {app.short_name: app.id for app in state.applications.values()}
    template = next(t for t in state.templates.values() if t.applications == ("QUIN", "FTP"))
    for account_id in account_ids:
        account = state.accounts[account_id]
        regs = {
            name: state.register_application(
                account, NewRegApplication(apps[name], name, _PROVISION_CREDENTIALS[name])
            ).id
            for name in template.applications
        }
        state.create_workflow(account, NewWorkflow(template.id, "Export", None, regs, {}))
