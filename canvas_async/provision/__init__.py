"""Desired state for many accounts: declare it in a file, plan the difference, apply it.

::

    from canvas_async import Canvas, provision

    state = provision.load("accounts.toml")
    async with Canvas(consumer=..., secret_key=..., env="prd") as canvas:
        print((await provision.plan(canvas, state)).plan_text())
        report = await provision.apply(canvas, state)
    print(report.table())

See :mod:`canvas_async.provision._load` for the file format. ``apply`` is safe
to run again after any failure: it reads every account afresh and converges.
"""

from __future__ import annotations

from canvas_async.bulk import Status
from canvas_async.provision._execute import AccountNotFoundError, apply, plan
from canvas_async.provision._load import DesiredStateError, from_data, load, loads
from canvas_async.provision._plan import (
    AccountPlan,
    Action,
    Catalogue,
    Change,
    Drift,
    Duplicate,
    check,
    diff,
)
from canvas_async.provision._report import (
    AccountReport,
    ChangeResult,
    RunReport,
)
from canvas_async.provision.spec import (
    AccountSpec,
    ApplicationSpec,
    DesiredState,
    EnvRef,
    MissingEnvironmentError,
    NewAccount,
    Plain,
    WorkflowSpec,
)

__all__ = [
    "AccountNotFoundError",
    "AccountPlan",
    "AccountReport",
    "AccountSpec",
    "Action",
    "ApplicationSpec",
    "Catalogue",
    "Change",
    "ChangeResult",
    "DesiredState",
    "DesiredStateError",
    "Drift",
    "Duplicate",
    "EnvRef",
    "MissingEnvironmentError",
    "NewAccount",
    "Plain",
    "RunReport",
    "Status",
    "WorkflowSpec",
    "apply",
    "check",
    "diff",
    "from_data",
    "load",
    "loads",
    "plan",
]
