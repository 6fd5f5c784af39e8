"""A tour of canvas-async against the bundled Canvas emulator.

Run it with ``python examples/tour.py``: it starts an in-process emulator with
the documented sample data, then provisions a managed account end to end,
from registering applications to scheduling a workflow. Nothing leaves the
machine, and no key or credential is printed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from canvas_async import Canvas, ConflictError, ValidationError
from canvas_async.testing import CanvasEmulator

TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"


def say(step: str, detail: str = "") -> None:
    print(f"- {step}" + (f"\n    {detail}" if detail else ""))


async def tour(emu: CanvasEmulator) -> None:
    async with Canvas(consumer=emu.consumer, secret_key=emu.secret_key, env=emu.url) as canvas:
        say(f"Connected to {canvas.base_url}", f"keys accepted: {await canvas.authenticate()}")

        endpoints = await canvas.meta.endpoints()
        props = await canvas.meta.describe("AddWorkflowApiDto")
        required = ", ".join(p.property_name for p in props if p.is_required)
        say(
            f"The API describes itself: {len(endpoints)} operations",
            f"creating a workflow requires: {required}",
        )

        accounts = await canvas.accounts.list()
        say(
            f"The organization manages {len(accounts)} accounts",
            ", ".join(f"{a.first_name} {a.last_name} ({a.role})" for a in accounts),
        )

        try:
            await canvas.accounts.create(
                first_name="Nathan", last_name="Bray", email="nathan.bray@connectmyapps.com"
            )
        except ConflictError as error:
            say("Creating an account twice is refused by the server", str(error))

        new_id = await canvas.accounts.create(
            first_name="Ada", last_name="Lovelace", email="ada@example.com", country_key="GB"
        )
        acct = canvas.for_account(new_id)  # same session; requests carry ManagedAccountId
        say(f"Created account {new_id}", "and took a view acting for it")

        quinyx = await acct.applications.get("QUIN")
        ftp = await acct.applications.get("FTP")
        fields = ", ".join(f.name or f.short_name for f in quinyx.credential_fields)
        say(f"{quinyx.name} asks for: {fields}")

        try:
            await quinyx.register(tag_text="Quinyx", credentials={"apikey": "k-123456789"})
        except ValidationError as error:
            say("Incomplete credentials are caught before sending", str(error))

        quin_reg = await quinyx.register(
            tag_text="Quinyx 2022-04-28",
            credentials={"apikey": "01d6-3e54-cff2-c7d8", "environment": "test"},
        )
        ftp_reg = await ftp.register(
            tag_text="FTP 2022-05-03",
            credentials={
                "username": "export",
                "password": "correct-horse-battery",
                "port": "22",
                "address": "ftp.example.com",
                "secure": True,
            },
        )
        registered = await acct.reg_applications.list()
        say(
            f"Registered {len(registered)} applications",
            ", ".join(f"{r.short_name} ({r.tag_text})" for r in registered),
        )

        template = await acct.templates.get(TEMPLATE)
        chain = " -> ".join(block.block_name for block in template.chain)
        say(f"Template {template.name!r} v{template.version}", f"blocks: {chain}")

        wf = await template.create_workflow(
            name="Nightly employee export",
            applications={"QUIN": quin_reg, "FTP": ftp_reg},
            variables={"API - Get Employees": {"apiKeys": ["k"]}},
        )
        say(f"Created workflow {wf.name!r}", f"id {wf.id}, status {wf.status}")

        await wf.run()
        await wf.run(from_block=2, till_block=2)
        say(f"Ran it twice (whole, then block 2 only): {len(emu.state.runs)} runs recorded")

        wf = await wf.schedule("0 0/5 * ? * * *")
        upcoming = ", ".join(
            f"{t:%H:%M}" for t in wf.next_runs(3, after=datetime(2022, 5, 3, 2, 1, tzinfo=UTC))
        )
        say(f"Scheduled on {wf.cron!r}", f"after 02:01 it fires at {upcoming} (UTC)")

        wf = await wf.unschedule()
        say(f"Unscheduled: is_scheduled={wf.is_scheduled}, cron kept: {wf.cron!r}")

        await wf.delete()
        say(f"Deleted it; the account now has {len(await acct.workflows.list())} workflows")

    say(f"Done: the emulator answered {len(emu.log)} requests; the client is {canvas.state}")


async def main() -> None:
    print("canvas-async tour (against an in-process Canvas emulator)\n")
    async with CanvasEmulator(seed="samples") as emu:
        await tour(emu)


if __name__ == "__main__":
    asyncio.run(main())
