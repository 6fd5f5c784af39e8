"""Parsing: 10,000 workflows as JSON bytes structured into typed objects.

Contenders, each producing the same field types (``uuid.UUID`` ids, UTC-aware
datetimes from the server's mixed forms, the cron decoded from the
JSON-encoded ``schedulerFrequency``):

- canvas-async's converter into ``canvas_async.models.Workflow``;
- pydantic v2, ``TypeAdapter(list[Model]).validate_json``;
- msgspec, ``msgspec.json.decode(..., type=list[Struct])``;
- a bare ``json.loads`` (no types at all), the floor.

Target: canvas-async no slower than pydantic v2.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Table, interleaved_medians, median_time

STATUSES = ("Ready", "Running", "Faulted", "Ready")


def workflows_json(n: int, *, seed: int = 7) -> bytes:
    """``n`` workflows in the server's own shape and timestamp forms."""
    rnd = random.Random(seed)
    base = datetime(2022, 1, 1)
    out = []
    for i in range(n):
        created = base + timedelta(seconds=rnd.randrange(10**8))
        out.append(
            {
                "id": str(uuid.UUID(int=rnd.getrandbits(128))),
                "name": f"Workflow {i}",
                "description": "Quinyx Employee Export Into FTP(CSV)",
                "status": rnd.choice(STATUSES),
                "isScheduled": rnd.random() < 0.5,
                "schedulerFrequency": json.dumps({"cronSchedule": "0 0/5 * ? * * *"}),
                "workflowTemplateId": str(uuid.UUID(int=rnd.getrandbits(128)))
                if rnd.random() < 0.8
                else None,
                "isCustomizedStructure": rnd.random() < 0.5,
                "accountId": str(uuid.UUID(int=rnd.getrandbits(128))),
                "organizationId": "00000000-0000-0000-0000-000000000001",
                # seven fractional digits, no offset (UTC)
                "dateCreated": created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "6",
                "dateModified": created.strftime("%Y-%m-%dT%H:%M:%S.") + "69",
                # with offset
                "dateLastRun": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00",
                "dateNextSchedule": None,
                "regApplicationIds": [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(2)],
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
    from canvas_async._convert import parse_workflows

    return parse_workflows


def run(quick: bool) -> Table:
    n = 1_000 if quick else 10_000
    runs = 3 if quick else 9
    payload = workflows_json(n)

    parsers = {
        "canvas-async": canvas_async_parser(),
        "pydantic v2": pydantic_parser(),
        "msgspec": msgspec_parser(),
        "json.loads": json.loads,
    }
    # Same answer from all typed contenders, or the comparison means nothing.
    first = parsers["canvas-async"](payload)[0]
    assert str(first.id) == json.loads(payload)[0]["id"]
    assert first.date_created is not None
    assert first.date_created.tzinfo is not None

    def timer(parse: Any) -> Any:
        return lambda: median_time(lambda: parse(payload), runs=1, warmup=0)

    for parse in parsers.values():  # warm-up
        parse(payload)
    medians = interleaved_medians({k: timer(v) for k, v in parsers.items()}, runs=runs)

    table = Table(
        title=f"Parsing {n:,} workflows into models",
        columns=["contender", "median ms", "workflows/s", "vs pydantic v2"],
    )
    for name, seconds in medians.items():
        table.add(name, seconds * 1e3, n / seconds, medians["pydantic v2"] / seconds)
    table.ratios["parse: pydantic time / canvas-async time"] = (
        medians["pydantic v2"] / medians["canvas-async"],
        1.0,
        True,
    )
    table.notes.append(
        f"{len(payload) / 1e6:.1f} MB of JSON; median of {runs} interleaved runs; "
        "json.loads is the floor (no types)."
    )
    return table


if __name__ == "__main__":
    print(run("--quick" in sys.argv).markdown())
