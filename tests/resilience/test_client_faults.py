"""Faults on the wire: what is retried, what is reported as outcome unknown."""

from __future__ import annotations

import asyncio
import collections

import aiohttp
import pytest

from canvas_async import (
    Canvas,
    CanvasConnectionError,
    CanvasError,
    OutcomeUnknownError,
    Retries,
    ServerError,
    Workflow,
    WorkflowTemplate,
)
from canvas_async.testing import CanvasEmulator, DropConnection, ErrorStatus

EXPORT_TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
FAST = Retries(backoff_initial=0.01, backoff_max=0.05)

pytestmark = pytest.mark.canvas_client(retries=FAST)


async def new_workflow(canvas: Canvas, template: WorkflowTemplate, name: str) -> Workflow:
    regs = {r.short_name: r for r in await canvas.reg_applications.list()}
    return await canvas.workflows.create(
        template, name=name, applications={"QUIN": regs["QUIN"], "FTP": regs["FTP"]}
    )


async def test_300_workflows_with_10_percent_faults(
    canvas_emulator: CanvasEmulator, canvas: Canvas
) -> None:
    """Each workflow ends created once, or reported failed or outcome-unknown;
    the server holds no duplicate and no double run."""
    emu = canvas_emulator
    template = await canvas.templates.get(EXPORT_TEMPLATE)
    regs = {r.short_name: r for r in await canvas.reg_applications.list()}
    for fault in (
        ErrorStatus(500),
        ErrorStatus(500, after_effect=True),
        ErrorStatus(502),
        ErrorStatus(503, retry_after=None),
        DropConnection(),
        DropConnection(after_effect=True),
    ):
        emu.faults.add(fault, fraction=0.1 / 6)

    async def one(index: int) -> tuple[str, str, Exception | None, Workflow | None]:
        try:
            wf = await canvas.workflows.create(
                template,
                name=f"wf-{index}",
                applications={"QUIN": regs["QUIN"], "FTP": regs["FTP"]},
            )
        except CanvasError as error:
            return f"wf-{index}", "create", error, None
        try:
            await wf.run()
        except CanvasError as error:
            return f"wf-{index}", "run", error, wf
        return f"wf-{index}", "ok", None, wf

    outcomes = await asyncio.gather(*(one(i) for i in range(300)))
    emu.faults.clear()

    by_name = collections.Counter(w.name for w in emu.state.workflows.values())
    runs = collections.Counter(r.workflow_id for r in emu.state.runs)
    assert max(by_name.values()) == 1, "a workflow was created twice"
    assert max(runs.values()) == 1, "a workflow was run twice"
    kinds: collections.Counter[tuple[str, str]] = collections.Counter()
    for name, stage, error, wf in outcomes:
        if stage == "ok":
            assert wf is not None
            assert by_name[name] == 1
            assert runs[wf.id] == 1
        elif stage == "run":
            assert wf is not None
            assert by_name[name] == 1
            if not isinstance(error, OutcomeUnknownError):
                assert runs[wf.id] == 0, f"{name}: reported failed, yet it ran"
        elif not isinstance(error, OutcomeUnknownError) and by_name[name]:
            # Created, then reading it back failed: the error must say so.
            assert any("was created" in note for note in getattr(error, "__notes__", ()))
        kinds[stage, type(error).__name__ if error else ""] += 1
    assert kinds["ok", ""] > 200
    assert kinds["create", "OutcomeUnknownError"] + kinds["run", "OutcomeUnknownError"] > 0
    # Some faults were ridden out by retries.
    assert any(r.status == 503 for r in emu.log)


class TestWhatIsRetried:
    async def test_create_is_not_repeated_after_a_drop(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """The connection drops after the workflow was stored: outcome unknown,
        and one workflow, not two."""
        template = await canvas.templates.get(EXPORT_TEMPLATE)
        canvas_emulator.faults.add(
            DropConnection(after_effect=True), operations={"create_workflow"}, times=1
        )

        with pytest.raises(OutcomeUnknownError, match="may or may not") as info:
            await new_workflow(canvas, template, "once")

        assert isinstance(info.value.__cause__, CanvasConnectionError)
        names = [w.name for w in canvas_emulator.state.workflows.values()]
        assert names.count("once") == 1

    async def test_create_is_not_repeated_after_a_500(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """A 500 after the effect: outcome unknown, with the ServerError chained."""
        template = await canvas.templates.get(EXPORT_TEMPLATE)
        canvas_emulator.faults.add(
            ErrorStatus(500, after_effect=True), operations={"create_workflow"}, times=1
        )

        with pytest.raises(OutcomeUnknownError) as info:
            await new_workflow(canvas, template, "once")

        assert isinstance(info.value.__cause__, ServerError)
        assert [r.operation for r in canvas_emulator.log].count("create_workflow") == 1

    async def test_create_is_repeated_after_a_503(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """503 says the request was not served: sent again, created once."""
        template = await canvas.templates.get(EXPORT_TEMPLATE)
        canvas_emulator.faults.add(
            ErrorStatus(503, retry_after=None), operations={"create_workflow"}, times=2
        )

        wf = await new_workflow(canvas, template, "after 503")

        assert wf.name == "after 503"
        assert [r.operation for r in canvas_emulator.log].count("create_workflow") == 3

    async def test_run_is_repeated_after_a_429(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """429 says the request was not served: the run starts once."""
        template = await canvas.templates.get(EXPORT_TEMPLATE)
        wf = await new_workflow(canvas, template, "run me")
        canvas_emulator.faults.add(
            ErrorStatus(429, retry_after=0), operations={"run_workflow"}, times=1
        )

        await wf.run()

        assert [r.workflow_id for r in canvas_emulator.state.runs] == [wf.id]

    async def test_reads_are_repeated_after_a_drop(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """A read is safe to repeat after any connection failure."""
        canvas_emulator.faults.add(DropConnection(), operations={"list_workflows"}, times=2)

        assert isinstance(await canvas.workflows.list(), list)
        assert [r.operation for r in canvas_emulator.log].count("list_workflows") == 3

    async def test_reads_are_repeated_after_a_500(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """A 500 on a read is repeated: reading again can do no harm."""
        canvas_emulator.faults.add(ErrorStatus(500), operations={"list_workflows"}, times=1)

        assert isinstance(await canvas.workflows.list(), list)
        assert [r.operation for r in canvas_emulator.log].count("list_workflows") == 2

    async def test_reads_are_not_repeated_after_a_501(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """A 501 is raised at once, even for a read: it will not change."""
        canvas_emulator.faults.add(ErrorStatus(501), operations={"list_workflows"}, times=1)

        with pytest.raises(ServerError):
            await canvas.workflows.list()

        assert [r.operation for r in canvas_emulator.log].count("list_workflows") == 1

    async def test_scheduler_is_repeated_after_a_drop(
        self, canvas_emulator: CanvasEmulator, canvas: Canvas
    ) -> None:
        """WorkflowScheduler sets a state: repeating it is harmless."""
        template = await canvas.templates.get(EXPORT_TEMPLATE)
        wf = await new_workflow(canvas, template, "scheduled")
        canvas_emulator.faults.add(
            DropConnection(after_effect=True), operations={"workflow_scheduler"}, times=1
        )

        updated = await wf.schedule("0 0/5 * ? * * *")

        assert updated.is_scheduled
        assert [r.operation for r in canvas_emulator.log].count("workflow_scheduler") == 2

    async def test_retries_per_client(self, canvas_emulator: CanvasEmulator) -> None:
        """retries=0 on the client: the first failure is raised."""
        canvas_emulator.faults.add(ErrorStatus(502), operations={"list_workflows"}, times=1)
        async with Canvas(
            consumer=canvas_emulator.consumer,
            secret_key=canvas_emulator.secret_key,
            env=canvas_emulator.url,
            retries=0,
        ) as canvas:
            with pytest.raises(ServerError):
                await canvas.workflows.list()

    async def test_retries_per_call(self, canvas_emulator: CanvasEmulator, canvas: Canvas) -> None:
        """with_retries() overrides the client's setting for the calls made
        through it, and for the views and models it gives."""
        canvas_emulator.faults.add(ErrorStatus(502), operations={"list_workflows"}, times=3)

        with pytest.raises(ServerError):
            await canvas.with_retries(0).workflows.list()
        assert isinstance(await canvas.with_retries(5).workflows.list(), list)

        assert [r.status for r in canvas_emulator.log if r.operation == "list_workflows"] == [
            502,
            502,
            502,
            200,
        ]

    async def test_refused_connection_is_retried_then_raised(self) -> None:
        """Nothing listens: a POST may be repeated (nothing was sent), and in
        the end the connection error is raised, not outcome unknown."""
        starts = 0

        async def on_start(*_: object) -> None:
            nonlocal starts
            starts += 1

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_start)
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        async with (
            aiohttp.ClientSession(trace_configs=[trace]) as session,
            Canvas(
                consumer="c",
                secret_key="s",
                env=f"http://127.0.0.1:{port}/api",
                retries=FAST,
                session=session,
            ) as canvas,
        ):
            with pytest.raises(CanvasConnectionError):
                await canvas.accounts.create(first_name="A", last_name="B", email="a@example.com")

        assert starts == 3


async def test_a_failed_read_back_says_the_registration_exists(
    canvas_emulator: CanvasEmulator, canvas: Canvas
) -> None:
    """Registered, then listing failed: the outcome is reported unknown (the
    write was accepted, so no plain error may say it failed), naming the new
    id, with the listing's failure chained."""
    quinyx = await canvas.applications.get("QUIN")
    canvas_emulator.faults.add(ErrorStatus(501), operations={"list_reg_applications"}, times=1)

    with pytest.raises(OutcomeUnknownError) as info:
        await quinyx.register(tag_text="again", credentials={"apikey": "k", "environment": "live"})

    (created,) = [
        r for r in canvas_emulator.state.reg_applications.values() if r.tag_text == "again"
    ]
    assert str(created.id) in str(info.value)
    assert isinstance(info.value.__cause__, ServerError)
