"""Parsing: 10,000 workflows as JSON bytes structured into typed objects.

Contenders, each producing the same field types (``uuid.UUID`` ids, UTC-aware
datetimes from the server's mixed forms, the cron decoded from the
JSON-encoded ``schedulerFrequency``):

- canvas-async's converter into ``canvas_async.models.Workflow``, as a
  client's read does;
- pydantic v2, ``TypeAdapter(list[Model]).validate_json``;
- msgspec, ``msgspec.json.decode(..., type=list[Struct])``;
- a bare ``json.loads`` (no types at all), the floor.

Target: canvas-async no slower than pydantic v2.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table, interleaved_medians, median_time

STATUSES = ("Ready", "Running", "Faulted", "Ready")
KEEPING_NOTHING = "canvas-async, unknown fields dropped"
WITH_UNKNOWN = "with unknown fields"


def workflows_json(n: int, *, seed: int = 7) -> bytes:
    """``n`` workflows in the server's own shape and timestamp forms.

    The ids refer to what a real organization has: one organization, 100
    accounts with a handful of registered applications each, 20 templates;
    every workflow's own id is unique.
    """
    rnd = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rnd.getrandbits(128)))

    base = datetime(2022, 1, 1)
    organization = "00000000-0000-0000-0000-000000000001"
    accounts = [new_id() for _ in range(100)]
    registrations = {account: [new_id() for _ in range(3)] for account in accounts}
    templates = [new_id() for _ in range(20)]
    out = []
    for i in range(n):
        created = base + timedelta(seconds=rnd.randrange(10**8))
        account = rnd.choice(accounts)
        template, regs = rnd.choice(templates), rnd.sample(registrations[account], 2)
        out.append(
            {
                "id": new_id(),
                "name": f"Workflow {i}",
                "description": "Quinyx Employee Export Into FTP(CSV)",
                "status": rnd.choice(STATUSES),
                "isScheduled": rnd.random() < 0.5,
                "schedulerFrequency": json.dumps({"cronSchedule": "0 0/5 * ? * * *"}),
                "workflowTemplateId": template if rnd.random() < 0.8 else None,
                "isCustomizedStructure": rnd.random() < 0.5,
                "accountId": account,
                "organizationId": organization,
                # seven fractional digits, no offset (UTC)
                "dateCreated": created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "6",
                "dateModified": created.strftime("%Y-%m-%dT%H:%M:%S.") + "69",
                # with offset
                "dateLastRun": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00",
                "dateNextSchedule": None,
                "regApplicationIds": regs,
                "currentBlock": rnd.randrange(6),
            }
        )
    return json.dumps(out).encode()


def _cron(value: str | None) -> str | None:
    if not value:
        return None
    decoded = json.loads(value)
    return decoded.get("cronSchedule") if isinstance(decoded, dict) else None


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def pydantic_parser() -> Any:
    from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, TypeAdapter
    from pydantic.alias_generators import to_camel

    Utc = Annotated[datetime, AfterValidator(_utc)]

    class Workflow(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel, frozen=True, extra="ignore")
        id: uuid.UUID
        name: str
        description: str | None
        status: str
        is_scheduled: bool
        scheduler_frequency: Annotated[str | None, BeforeValidator(_cron)]
        workflow_template_id: uuid.UUID | None
        is_customized_structure: bool
        account_id: uuid.UUID
        organization_id: uuid.UUID
        date_created: Utc | None
        date_modified: Utc | None
        date_last_run: Utc | None
        date_next_schedule: Utc | None
        reg_application_ids: list[uuid.UUID]
        current_block: int

    adapter = TypeAdapter(list[Workflow])
    return adapter.validate_json


def msgspec_parser() -> Any:
    import msgspec

    class Workflow(msgspec.Struct, rename="camel", frozen=True):
        id: uuid.UUID
        name: str
        description: str | None
        status: str
        is_scheduled: bool
        scheduler_frequency: str | None
        workflow_template_id: uuid.UUID | None
        is_customized_structure: bool
        account_id: uuid.UUID
        organization_id: uuid.UUID
        date_created: datetime | None
        date_modified: datetime | None
        date_last_run: datetime | None
        date_next_schedule: datetime | None
        reg_application_ids: list[uuid.UUID]
        current_block: int

        def __post_init__(self) -> None:
            # Same work as the others: UTC for naive stamps, the cron decoded.
            set_ = msgspec.structs.force_setattr
            set_(self, "scheduler_frequency", _cron(self.scheduler_frequency))
            for name in ("date_created", "date_modified", "date_last_run", "date_next_schedule"):
                set_(self, name, _utc(getattr(self, name)))

    decoder = msgspec.json.Decoder(list[Workflow])
    return decoder.decode


def canvas_async_parser() -> Any:
    from canvas_async import _convert
    from canvas_async.models import Workflow

    return lambda raw: _convert.structure(json.loads(raw), list[Workflow])


def canvas_async_dropping_parser() -> Any:
    """The same fast converter built to drop unknown keys instead of keeping
    them in ``extra``: the cost of keeping them, side by side in one run."""
    from canvas_async._convert import _make_converter
    from canvas_async.models import Workflow

    converter = _make_converter(detailed=False, keep_unknown=False)
    return lambda raw: converter.structure(json.loads(raw), list[Workflow])


# Keys a server that grew might add to every workflow.
UNKNOWN_FIELDS: dict[str, Any] = {"ownerEmail": "ops@example.org", "retryCount": 3,
                                  "tags": ["nightly"]}  # fmt: skip


def with_unknown_fields(payload: bytes) -> bytes:
    """``payload`` with :data:`UNKNOWN_FIELDS` added to every workflow."""
    return json.dumps([{**item, **UNKNOWN_FIELDS} for item in json.loads(payload)]).encode()


def _same_answers(parsers: dict[str, Any], payload: bytes) -> None:
    """Fail unless every typed contender reads the same values: otherwise the
    comparison means nothing."""
    fields = ("id", "account_id", "organization_id", "workflow_template_id", "date_created",
              "date_modified", "date_last_run", "date_next_schedule", "current_block")  # fmt: skip
    expected = json.loads(payload)[:50]
    for name in ("canvas-async", "pydantic v2", "msgspec"):
        if name not in parsers:
            continue
        parsed = parsers[name](payload)[:50]
        for item, raw in zip(parsed, expected, strict=True):
            assert str(item.id) == raw["id"], name
            assert tuple(map(str, item.reg_application_ids)) == tuple(raw["regApplicationIds"])
            assert item.date_created.tzinfo is not None, name
        reference = parsers["canvas-async"](payload)[:50]
        for item, ref in zip(parsed, reference, strict=True):
            for field in fields:
                got, want = getattr(item, field), getattr(ref, field)
                if isinstance(want, datetime):
                    # msgspec rounds a seventh fractional digit; the others truncate.
                    assert abs(got - want) <= timedelta(microseconds=1), (name, field)
                else:
                    assert got == want, (name, field)


def _measure(payload: bytes, parsers: dict[str, Any], runs: int) -> dict[str, float]:
    def timer(parse: Any) -> Any:
        return lambda: median_time(
            lambda: parse(payload), runs=1, warmup=0, clock=time.process_time
        )

    for parse in parsers.values():  # warm-up
        parse(payload)
    return interleaved_medians({k: timer(v) for k, v in parsers.items()}, runs=runs)


def run(quick: bool) -> Table:
    n = 1_000 if quick else 10_000
    runs = 3 if quick else 9
    parsers: dict[str, Any] = {
        "canvas-async": canvas_async_parser(),
        KEEPING_NOTHING: canvas_async_dropping_parser(),
    }
    missing = []
    for name, make in (("pydantic v2", pydantic_parser), ("msgspec", msgspec_parser)):
        try:
            parsers[name] = make()
        except ImportError:  # the bench extra is not installed
            missing.append(name)
    parsers["json.loads"] = json.loads
    baseline = "pydantic v2" if "pydantic v2" in parsers else "json.loads"
    table = Table(
        title=f"Parsing {n:,} workflows into models",
        columns=["payload", "contender", "median ms (CPU)", "workflows/s", f"vs {baseline}"],
    )
    payloads = {
        "one organization's workflows": workflows_json(n),
        WITH_UNKNOWN: with_unknown_fields(workflows_json(n)),
    }
    for label, payload in payloads.items():
        _same_answers(parsers, payload)
        medians = _measure(payload, parsers, runs)
        for name, seconds in medians.items():
            table.add(label, name, seconds * 1e3, n / seconds, medians[baseline] / seconds)
        if baseline == "pydantic v2":
            table.ratios[f"parse: pydantic time / canvas-async time ({label})"] = (
                medians["pydantic v2"] / medians["canvas-async"],
                1.0,
                True,
            )
        # Keeping unknown fields (``model.extra``) must not slow the common
        # case measurably: at most 5% over dropping them, the run's noise.
        table.ratios[f"parse: keeping unknown fields / dropping them ({label})"] = (
            medians["canvas-async"] / medians[KEEPING_NOTHING],
            None if label == WITH_UNKNOWN else 1.05,
            False,
        )
    size = len(payloads["one organization's workflows"]) / 1e6
    table.notes += [
        f"{size:.1f} MB of JSON; CPU time (time.process_time) of each parse, median of "
        f"{runs} interleaved runs; json.loads is the floor (no types).",
        "One organization's workflows: ids as a real listing has them (one organization, "
        "100 accounts with three registrations each, 20 templates; each workflow's own id "
        "unique). canvas-async: every model read in full, each id a new uuid.UUID.",
        f"{KEEPING_NOTHING}: the same converter built to drop the keys a model has no field "
        "for, instead of keeping them in model.extra; with unknown fields: every workflow "
        f"carries {len(UNKNOWN_FIELDS)} keys the model does not know.",
    ]
    if missing:
        table.notes.append(
            f"Not installed, so not measured: {', '.join(missing)}"
            " (pip install -e . --group bench)."
        )
    return table


if __name__ == "__main__":
    print(run("--quick" in sys.argv).markdown())
