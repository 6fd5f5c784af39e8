"""A long ``canvas-async apply`` in token mode: tokens expire and are renewed mid-run.

The emulator's access tokens live 4 seconds (renewed after about 2) and every
request takes 0.1 s, so the run (300 accounts x 6 requests in turn x 0.1 s / 24
at once: 7.5 s at the least, however fast the machine) outlives several
tokens. No mode flag is given: the command detects token mode.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

from canvas_async.testing import CanvasEmulator, DropConnection, ErrorStatus, Latency, RandomFaults
from tests.cli.test_cli import Result, _file, _keys, cli
from tests.cli.test_cli_tokens import _seen
from tests.support import started

ACCOUNTS = 300
ENV = {"QUINYX_KEY": "long-run-quinyx-key", "FTP_USER": "long-run-ftp-user"}


def _token_emulator() -> CanvasEmulator:
    emu = CanvasEmulator(
        auth="token",
        seed="empty",
        synthetic_accounts=ACCOUNTS,
        random_seed=17,
        access_token_lifetime=4,
    )
    emu.faults.add(Latency(0.1))
    return emu


async def _apply(emu: CanvasEmulator, path: Path) -> Result:
    result = await cli("apply", str(path), "--concurrency", "24", env=_keys(emu, **ENV))
    _seen(result)
    return result


def _assert_converged(emu: CanvasEmulator) -> None:
    """Every account holds exactly what the file declares: nothing missing, nothing twice."""
    registered = collections.Counter(
        (reg.account_id, reg.short_name, reg.tag_text)
        for reg in emu.state.reg_applications.values()
    )
    workflows = collections.Counter(
        (flow.account_id, flow.name, flow.is_scheduled) for flow in emu.state.workflows.values()
    )
    for account in emu.state.managed_ids:
        assert registered[account, "QUIN", "Quinyx"] == 1, account
        assert registered[account, "FTP", "FTP"] == 1, account
        assert workflows[account, "Export", True] == 1, account
    assert sum(registered.values()) == 2 * ACCOUNTS
    assert sum(workflows.values()) == ACCOUNTS


def _sent(emu: CanvasEmulator) -> collections.Counter[tuple[str | None, int | None]]:
    return collections.Counter((record.operation, record.status) for record in emu.log)


async def test_a_long_apply_renews_the_tokens_and_revokes_them_once(tmp_path: Path) -> None:
    async with started(_token_emulator()) as emu:
        result = await _apply(emu, _file(tmp_path, emu, ids=emu.state.managed_ids))

        assert result.code == 0, result.out[-2000:] + result.err[-2000:]
        assert f"{ACCOUNTS} accounts: {ACCOUNTS} done, 0 failed" in result.out
        _assert_converged(emu)
        sent = _sent(emu)
        # The first pair comes from Authenticate; every later one is a renewal.
        renewals = sent["refresh_access_token", 200] + sent["authenticate", 200] - 1
        assert renewals >= 2, sent
        assert sent["delete_token", 200] == 1
        assert emu.log[-1].operation == "delete_token"
        assert emu.state.tokens.deletes == 1


async def test_requests_refused_for_an_expired_token_are_sent_again_after_renewal(
    tmp_path: Path,
) -> None:
    async with started(_token_emulator()) as emu:
        path = _file(tmp_path, emu, ids=emu.state.managed_ids[:120])

        async def expire_midway() -> None:
            # Once the run is under way, as if the server's clock ran ahead: the
            # tokens die before the client's renewal is due, so requests meet 401s.
            # Counted in requests, not seconds: on a loaded machine, expiring every
            # second or so also refused requests sent again after the renewal. Every
            # token is expired again until a request has been refused (a renewal due
            # at that moment could come first and leave nothing to refuse), and none
            # after, so the requests sent again after the renewal go through.
            while len(emu.log) < 100:  # noqa: ASYNC110 - the log offers nothing to wait on
                await asyncio.sleep(0.01)
            while not any(record.status == 401 for record in emu.log):
                emu.expire_access_tokens()
                await asyncio.sleep(0.01)

        expiring = asyncio.create_task(expire_midway())
        try:
            result = await _apply(emu, path)
        finally:
            expiring.cancel()

        assert result.code == 0, result.out[-2000:] + result.err[-2000:]
        assert "120 accounts: 120 done, 0 failed" in result.out
        sent = _sent(emu)
        refused = sum(count for (_, status), count in sent.items() if status == 401)
        assert refused >= 1, sent
        assert sent["delete_token", 200] == 1


async def test_a_long_apply_converges_in_token_mode_under_random_faults(tmp_path: Path) -> None:
    async with started(_token_emulator()) as emu:
        # The renewals themselves fail, first: a 503 on every try, then a 500
        # after the refresh token was rotated, then a connection dropped after it.
        on_refresh = [
            emu.faults.add(
                ErrorStatus(503, retry_after=None), operations={"refresh_access_token"}, times=3
            ),
            emu.faults.add(
                ErrorStatus(500, after_effect=True), operations={"refresh_access_token"}, times=1
            ),
            emu.faults.add(
                DropConnection(after_effect=True), operations={"refresh_access_token"}, times=1
            ),
        ]
        emu.faults.add(RandomFaults(), fraction=0.1)
        result = await _apply(emu, _file(tmp_path, emu, ids=emu.state.managed_ids))

        assert result.code == 0, result.out[-2000:] + result.err[-2000:]
        assert f"{ACCOUNTS} accounts: {ACCOUNTS} done, 0 failed" in result.out
        _assert_converged(emu)
        sent = _sent(emu)
        assert on_refresh[0].fired == 3, sent  # the first renewal met them all
        assert sent["refresh_access_token", 200] + sent["authenticate", 200] - 1 >= 2, sent
        assert emu.state.tokens.deletes == 1
