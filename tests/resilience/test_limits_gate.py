"""The shared pause after a 429, the concurrency limit and the request rate."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Callable

import attrs
import pytest

from canvas_async import ValidationError
from canvas_async._limits import ClientPausedError, Limits, PauseGate


@attrs.define
class FakeTime:
    """A monotonic clock that moves only when a task sleeps on it."""

    now: float = 0.0
    sleeps: list[float] = attrs.Factory(list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def gate_on(time: FakeTime, random: Callable[[], float] = lambda: 0.0) -> PauseGate:
    return PauseGate(clock=time.clock, sleep=time.sleep, random=random)


class TestPauseGate:
    async def test_open_gate_does_not_wait(self) -> None:
        """Without a pause nothing sleeps."""
        time = FakeTime()
        gate = gate_on(time)

        await gate.wait()

        assert time.sleeps == []
        assert gate.remaining() == 0

    async def test_waits_out_the_pause(self) -> None:
        """A task arriving during a pause resumes no earlier than its end."""
        time = FakeTime()
        gate = gate_on(time)
        gate.pause(2.0)
        time.now = 0.5

        await gate.wait()

        assert time.now >= 2.0
        assert time.sleeps == [1.5]

    async def test_pause_is_never_shortened(self) -> None:
        """A shorter Retry-After does not cut a longer pause in force."""
        time = FakeTime()
        gate = gate_on(time)
        gate.pause(5.0)
        gate.pause(1.0)

        assert gate.remaining() == 5.0

    async def test_later_pause_extends(self) -> None:
        """A pause ending later replaces the earlier one."""
        time = FakeTime()
        gate = gate_on(time)
        gate.pause(1.0)
        time.now = 0.5
        gate.pause(1.0)

        assert gate.remaining() == 1.0

    async def test_pause_extended_while_waiting_is_waited_out_too(self) -> None:
        """A 429 arriving while tasks wait pushes them to the new end."""
        time = FakeTime()
        extended = False

        async def sleep_and_extend(seconds: float) -> None:
            nonlocal extended
            await time.sleep(seconds)
            if not extended:
                extended = True
                gate.pause(3.0)  # another task got a 429 meanwhile

        gate = PauseGate(clock=time.clock, sleep=sleep_and_extend, random=lambda: 0.0)
        gate.pause(1.0)

        await gate.wait()

        assert time.now >= 4.0

    async def test_waiters_resume_spread_over_the_pause_length(self) -> None:
        """Tasks come back at different moments within ``spread`` after the end,
        not all in the instant the pause ends."""
        time = FakeTime()
        rng = random.Random(3)
        gate = PauseGate(clock=time.clock, sleep=time.sleep, random=rng.random, max_spread=10)
        gate.pause(0.5)

        resumed = []
        for _ in range(100):  # each task finds the gate closed at t=0
            time.now = 0.0
            await gate.wait()
            resumed.append(time.now)

        assert min(resumed) >= 0.5
        assert max(resumed) <= 1.0
        assert len(set(resumed)) == 100
        assert max(resumed) - min(resumed) > 0.4

    async def test_spread_is_capped(self) -> None:
        """A long pause is not lengthened by a long spread."""
        time = FakeTime()
        gate = PauseGate(clock=time.clock, sleep=time.sleep, random=lambda: 0.999, max_spread=0.2)
        gate.pause(30.0)

        await gate.wait()

        assert 30.0 <= time.now < 30.2

    async def test_too_long_a_pause_raises(self) -> None:
        """A call that may wait 5 s does not sleep through a 60 s pause."""
        time = FakeTime()
        gate = gate_on(time)
        gate.pause(60.0)

        with pytest.raises(ClientPausedError) as info:
            await gate.wait(max_wait=5.0)

        assert info.value.remaining == 60.0
        assert time.sleeps == []

    async def test_real_clock(self) -> None:
        """With the defaults, the pause is measured on the monotonic clock."""
        loop = asyncio.get_running_loop()  # its clock is time.monotonic, the gate's
        gate = PauseGate(max_spread=0.0)
        # Read before the pause starts: a clock read after it could come later than the
        # pause's own start on a loaded machine, and the wait rightly end before it.
        start = loop.time()
        gate.pause(0.05)

        await gate.wait()

        assert loop.time() >= start + 0.05
        assert gate.remaining() == 0


@contextlib.asynccontextmanager
async def slot(limits: Limits, max_wait: float | None = None) -> AsyncIterator[None]:
    """Hold a slot of ``limits`` while inside, as a request does."""
    await limits.acquire(max_wait)
    try:
        yield
    finally:
        limits.release()


class TestLimits:
    async def test_concurrency_is_bounded(self) -> None:
        """No more than max_concurrency tasks hold a slot at once."""
        limits = Limits(max_concurrency=3)
        inside = peak = 0

        async def one() -> None:
            nonlocal inside, peak
            async with slot(limits):
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.001)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(30)))

        assert peak == 3

    async def test_slot_is_released_on_error(self) -> None:
        """A failing request gives its slot back."""
        limits = Limits(max_concurrency=1)

        with pytest.raises(RuntimeError):
            async with slot(limits):
                raise RuntimeError

        async with asyncio.timeout(1):
            async with slot(limits):
                pass

    async def test_rate_spaces_requests(self) -> None:
        """At 50 requests a second, sends are at least 20 ms apart: no burst."""
        loop = asyncio.get_running_loop()
        limits = Limits(rate_limit=50)
        times: list[float] = []

        async def one() -> None:
            async with slot(limits):
                times.append(loop.time())

        await asyncio.gather(*(one() for _ in range(6)))

        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.02 * 0.95 for gap in gaps), gaps

    async def test_pause_holds_every_slot(self) -> None:
        """Tasks entering during a pause are sent only after it."""
        loop = asyncio.get_running_loop()
        limits = Limits(max_concurrency=10, gate=PauseGate(max_spread=0.0))
        limits.gate.pause(0.05)
        paused_until = loop.time() + 0.05
        times: list[float] = []

        async def one() -> None:
            async with slot(limits):
                times.append(loop.time())

        await asyncio.gather(*(one() for _ in range(5)))

        assert min(times) >= paused_until

    async def test_pause_during_rate_wait_is_honoured(self) -> None:
        """A pause that starts while a task waits for the rate holds it too."""
        loop = asyncio.get_running_loop()
        limits = Limits(rate_limit=20, gate=PauseGate(max_spread=0.0))
        sent: list[float] = []
        paused_until = 0.0

        async def one() -> None:
            nonlocal paused_until
            async with slot(limits):
                sent.append(loop.time())
                if len(sent) == 1:  # the first answer is a 429
                    limits.gate.pause(0.2)
                    paused_until = loop.time() + 0.2

        await asyncio.gather(*(one() for _ in range(3)))

        assert all(t >= paused_until for t in sent[1:])

    async def test_too_long_a_pause_raises_from_slot(self) -> None:
        """acquire() passes max_wait on to the gate."""
        limits = Limits()
        limits.gate.pause(60)

        with pytest.raises(ClientPausedError):
            async with slot(limits, max_wait=1):
                pass

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"max_concurrency": 0}, "max_concurrency"),
            ({"max_concurrency": 2.5}, "max_concurrency"),
            ({"max_concurrency": True}, "max_concurrency"),
            ({"rate_limit": 0}, "rate_limit"),
            ({"rate_limit": -1}, "rate_limit"),
            ({"rate_limit": float("nan")}, "rate_limit"),
            ({"rate_limit": "10"}, "rate_limit"),
        ],
    )
    def test_bad_values_are_refused(self, kwargs: dict[str, object], name: str) -> None:
        """A clear error names the setting, before anything is sent."""
        with pytest.raises(ValidationError, match=name):
            Limits(**kwargs)  # type: ignore[arg-type]

    def test_built_outside_a_loop(self) -> None:
        """A client may be built before its loop runs; the limits bind later."""
        limits = Limits(max_concurrency=2, rate_limit=1000)

        async def use() -> None:
            async with slot(limits):
                pass

        asyncio.run(use())
