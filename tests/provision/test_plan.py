"""The diff of desired against current state, over plain models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from canvas_async._errors import ValidationError
from canvas_async._operations import CREATE_REG_APPLICATION
from canvas_async.models import (
    Application,
    CredentialField,
    CredentialOption,
    RegApplication,
    Workflow,
)
from canvas_async.provision._load import loads
from canvas_async.provision._plan import (
    Action,
    Catalogue,
    Duplicate,
    block_variables,
    check,
    diff,
    fingerprint,
    managed_description,
    split_description,
)
from canvas_async.provision.spec import AccountSpec
from tests.provision import provision_factories as f

ACCOUNT = uuid.UUID("6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1")
QUIN = f.application(
    "QUIN",
    uuid.UUID("97cbc3b3-32c7-4e4a-b788-a332ea82aeff"),
    (
        CredentialField("apikey", "API key"),
        CredentialField(
            "environment",
            "Environment",
            "select",
            options=(CredentialOption("live", "Live"), CredentialOption("test", "Test")),
        ),
    ),
)
FTP = f.application(
    "FTP",
    uuid.UUID("5f814909-01ea-4395-96ee-5ba7614128fc"),
    (CredentialField("username", "User name"), CredentialField("port", "Port", optional=True)),
)
GET_EMPLOYEES = uuid.UUID("02d1424a-da90-4c12-9c28-96162e624bd7")
TEMPLATE = f.template(
    uuid.UUID("bbe52876-aca2-4ece-ba31-11e0d98ddc19"),
    "Quinyx Employee Export Into FTP(CSV)",
    ("QUIN", "FTP"),
    (
        f.block(GET_EMPLOYEES, "API - Get Employees", {"apiKeys": [], "badgeNo": None}),
        f.block(
            uuid.UUID("25782580-aabe-4a03-be1c-bc45dacd7e60"),
            "FTP Upload",
            {"filename": "NY", "fileformat": "csv", "filepath": "/"},
        ),
    ),
)
CATALOGUE = Catalogue.of([QUIN, FTP], [TEMPLATE])

FILE = f"""
[defaults.applications.QUIN]
tag = "Quinyx 2022"
credentials = {{ apikey = "${{K}}", environment = {{ plain = "test" }} }}
[defaults.applications.FTP]
tag = "FTP 2022"
credentials = {{ username = "${{U}}" }}
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0/5 * ? * * *"
variables."API - Get Employees".apiKeys = ["${{K}}"]

[[accounts]]
id = "{ACCOUNT}"
"""


def _spec(text: str = FILE) -> AccountSpec:
    state = loads(text)
    assert check(state, CATALOGUE) == []
    return state.accounts[0]


def _reg(app: Application, tag: str) -> RegApplication:
    return f.registration(app, tag, ACCOUNT)


def _in_sync(spec: AccountSpec) -> tuple[list[RegApplication], Workflow]:
    regs = [_reg(QUIN, "Quinyx 2022"), _reg(FTP, "FTP 2022")]
    [wf_spec] = spec.workflows
    workflow = f.workflow(
        "Export",
        ACCOUNT,
        description=managed_description(None, fingerprint(wf_spec, TEMPLATE)),
        is_scheduled=True,
        cron="0 */5 * ? * *",
        template_id=TEMPLATE.id,
        reg_ids=tuple(r.id for r in reversed(regs)),
    )
    return regs, workflow


def test_an_empty_account_needs_everything_in_order() -> None:
    plan = diff(_spec(), CATALOGUE, account_id=ACCOUNT)

    assert [(c.action, c.target) for c in plan.changes] == [
        (Action.REGISTER, "QUIN"),
        (Action.REGISTER, "FTP"),
        (Action.CREATE_WORKFLOW, "Export"),
        (Action.SCHEDULE, "Export"),
    ]
    assert plan.changes[3].cron == "0 0/5 * ? * * *"
    assert not plan.converged


def test_a_missing_account_is_created_first() -> None:
    plan = diff(_spec(), CATALOGUE, account_id=None)

    assert plan.changes[0].action is Action.CREATE_ACCOUNT


def test_an_account_in_sync_needs_nothing() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    assert plan.changes == ()
    assert plan.drift == ()
    assert plan.converged


def test_a_different_schedule_is_set_and_a_dropped_one_unset() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    hourly = attrs.evolve(workflow, cron="0 0 * ? * *")

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[hourly])
    assert [(c.action, c.workflow_id) for c in plan.changes] == [(Action.SCHEDULE, workflow.id)]

    unscheduled = _spec(FILE.replace('schedule = "0 0/5 * ? * * *"', "schedule = false"))
    plan = diff(
        unscheduled, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow]
    )
    assert [c.action for c in plan.changes] == [Action.UNSCHEDULE]


def test_changed_variables_are_drift_left_alone_without_replace() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    changed = _spec(FILE.replace('apiKeys = ["${K}"]', 'apiKeys = ["${K}", "${K2}"]'))

    plan = diff(changed, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    assert plan.changes == ()
    [drift] = plan.drift
    assert drift.workflow_id == workflow.id
    assert drift.reasons == ("variables differ",)
    assert not plan.converged

    replaced = diff(
        changed,
        CATALOGUE,
        account_id=ACCOUNT,
        registrations=regs,
        workflows=[workflow],
        replace=True,
    )
    assert [(c.action, c.workflow_id) for c in replaced.changes] == [
        (Action.REPLACE_WORKFLOW, workflow.id),
        (Action.SCHEDULE, None),
    ]
    assert replaced.drift == ()


# -- adoption: variables = "as-found" ------------------------------------------------


def _adopted(text: str = FILE) -> AccountSpec:
    """The file with the workflow's variables taken as found."""
    return _spec(
        text.replace('variables."API - Get Employees".apiKeys = ["${K}"]', 'variables = "as-found"')
    )


def _by_hand(spec: AccountSpec, **changes: Any) -> tuple[list[RegApplication], Workflow]:
    """The account as a person made it: bound, scheduled, no fingerprint."""
    regs, workflow = _in_sync(spec)
    return regs, attrs.evolve(workflow, description="made in the UI", **changes)


def test_an_adopted_workflow_made_by_hand_is_in_sync() -> None:
    spec = _adopted(FILE.replace("[[accounts]]", 'description = "made in the UI"\n[[accounts]]'))
    regs, workflow = _by_hand(spec)

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    assert spec.workflows[0].adopted
    assert plan.converged
    assert plan.notes == ()


def test_an_adopted_workflow_is_checked_in_all_the_api_returns() -> None:
    spec = _adopted()  # declares no description: "made in the UI" differs
    regs, workflow = _by_hand(spec, workflow_template_id=uuid.uuid4(), reg_application_ids=())

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    [drift] = plan.drift
    assert drift.reasons == (
        "template differs",
        "bound applications differ",
        "description differs",
        'variables are "as-found": declare them to let --replace recreate it',
    )


@pytest.mark.parametrize("replace", [False, True])
def test_an_adopted_workflow_is_never_recreated_but_its_schedule_is_set(replace: bool) -> None:
    spec = _adopted()
    regs, workflow = _by_hand(spec, is_scheduled=False)

    plan = diff(
        spec,
        CATALOGUE,
        account_id=ACCOUNT,
        registrations=regs,
        workflows=[workflow],
        replace=replace,
    )

    assert [(c.action, c.workflow_id) for c in plan.changes] == [(Action.SCHEDULE, workflow.id)]
    assert [d.workflow_id for d in plan.drift] == [workflow.id]  # its description differs
    assert plan.unfixable


def test_an_adopted_workflow_created_here_is_not_checked_for_variables() -> None:
    declared = _spec()
    regs, workflow = _in_sync(declared)  # created with the file's variables, fingerprinted

    plan = diff(_adopted(), CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    assert plan.converged


def test_declaring_the_variables_of_an_adopted_workflow_makes_it_drift_that_replace_fixes() -> None:
    regs, workflow = _by_hand(_adopted())
    declared = _spec()

    plan = diff(declared, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])
    assert plan.drift[0].reasons[0].startswith("not created by canvas-async")

    replaced = diff(
        declared,
        CATALOGUE,
        account_id=ACCOUNT,
        registrations=regs,
        workflows=[workflow],
        replace=True,
    )
    assert [c.action for c in replaced.changes] == [Action.REPLACE_WORKFLOW, Action.SCHEDULE]


def test_a_missing_adopted_workflow_is_created_with_the_templates_variables() -> None:
    spec = _adopted()
    regs, _ = _in_sync(spec)

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs)

    create = plan.changes[0]
    assert (create.action, create.detail) == (
        Action.CREATE_WORKFLOW,
        "Quinyx Employee Export Into FTP(CSV), with its variables",
    )
    assert fingerprint(spec.workflows[0], TEMPLATE) == fingerprint(
        attrs.evolve(spec.workflows[0], variables={}), TEMPLATE
    )


def test_a_new_tag_registers_anew_and_drifts_the_bound_workflow() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    retagged = _spec(FILE.replace('tag = "FTP 2022"', 'tag = "FTP 2023"'))

    plan = diff(retagged, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[workflow])

    assert [(c.action, c.target) for c in plan.changes] == [(Action.REGISTER, "FTP")]
    assert plan.drift[0].reasons == ("bound applications differ (a registration is new)",)


def test_a_workflow_not_created_here_cannot_be_checked() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    by_hand = attrs.evolve(workflow, description="made in the UI")

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[by_hand])

    assert plan.drift[0].reasons == (
        "not created by canvas-async: its variables cannot be checked "
        '(variables = "as-found" takes it as it is)',
    )


def test_template_and_bindings_drift_are_named() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    other = attrs.evolve(workflow, workflow_template_id=uuid.uuid4(), reg_application_ids=())

    plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[other])

    assert plan.drift[0].reasons == ("template differs", "bound applications differ")


def test_prune_deletes_only_managed_workflows_no_longer_declared() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    ours = f.workflow("Old", ACCOUNT, description="[canvas-async:0123456789abcdef]")
    theirs = f.workflow("Hand made", ACCOUNT, description="x")
    current = [workflow, ours, theirs]

    kept = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=current)
    assert kept.changes == ()
    assert kept.notes == ("workflow 'Old' is no longer declared; --prune deletes it",)
    assert kept.converged  # pruning is only ever asked for

    pruned = diff(
        spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=current, prune=True
    )
    assert [(c.action, c.workflow_id) for c in pruned.changes] == [
        (Action.DELETE_WORKFLOW, ours.id)
    ]


def test_the_matching_one_of_duplicates_is_kept_and_the_other_deleted_without_prune() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    stale = attrs.evolve(workflow, id=uuid.uuid4(), workflow_template_id=None)

    plan = diff(
        spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=[stale, workflow]
    )

    assert plan.drift == ()
    assert [(c.action, c.workflow_id, c.detail) for c in plan.changes] == [
        (Action.DELETE_DUPLICATE, stale.id, f"duplicate of {workflow.id}")
    ]
    assert plan.duplicates == (
        Duplicate("workflow", "Export", "'Export'", workflow.id, (stale.id,)),
    )
    assert plan.duplicates[0].removable
    assert not plan.unfixable
    assert not plan.converged


def _created(workflow: Workflow, minute: int, **changes: Any) -> Workflow:
    return attrs.evolve(
        workflow, id=uuid.uuid4(), date_created=datetime(2024, 5, 1, 8, minute, tzinfo=UTC),
        **changes,
    )  # fmt: skip


def test_of_equal_duplicates_the_one_scheduled_as_declared_is_kept_then_the_oldest() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    older_off = _created(workflow, 1, is_scheduled=False)
    newer_on = _created(workflow, 2)
    newest_on = _created(workflow, 3)

    def kept(*workflows: Workflow) -> uuid.UUID:
        plan = diff(spec, CATALOGUE, account_id=ACCOUNT, registrations=regs, workflows=workflows)
        [duplicate] = plan.duplicates
        deleted = {c.workflow_id for c in plan.changes if c.action is Action.DELETE_DUPLICATE}
        assert deleted == set(duplicate.extra) == {w.id for w in workflows} - {duplicate.kept}
        return duplicate.kept

    assert kept(older_off, newer_on, newest_on) == newer_on.id
    assert kept(newest_on, newer_on) == newer_on.id
    low, high = sorted([_created(workflow, 4), _created(workflow, 4)], key=lambda w: w.id.int)
    assert kept(high, low) == low.id  # created at the same time: the lowest id


def test_a_workflow_not_created_here_is_never_a_duplicate_to_delete() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    by_hand = attrs.evolve(workflow, id=uuid.uuid4(), description="made in the UI")

    for prune in (False, True):
        plan = diff(
            spec,
            CATALOGUE,
            account_id=ACCOUNT,
            registrations=regs,
            workflows=[by_hand, workflow],
            prune=prune,
        )
        assert plan.changes == ()
        assert plan.duplicates == ()
        assert plan.notes == (
            f"another workflow named 'Export' ({by_hand.id}) was not created here; left alone",
        )


def test_duplicate_registrations_keep_the_bound_one_and_cannot_be_removed() -> None:
    spec = _spec()
    regs, workflow = _in_sync(spec)
    second_quinyx = _reg(QUIN, "Quinyx 2022")
    bound = attrs.evolve(workflow, reg_application_ids=(regs[1].id, second_quinyx.id))

    plan = diff(
        spec,
        CATALOGUE,
        account_id=ACCOUNT,
        registrations=[*regs, second_quinyx],
        workflows=[bound],
    )

    [duplicate] = plan.duplicates
    assert (duplicate.kind, duplicate.target, duplicate.kept, duplicate.extra) == (
        "registration",
        "QUIN",
        second_quinyx.id,
        (regs[0].id,),
    )
    assert not duplicate.removable
    assert plan.registrations["QUIN"] == second_quinyx.id
    assert plan.changes == ()
    assert plan.drift == ()  # the workflow is bound to the one kept
    assert plan.unfixable
    assert not plan.converged
    assert duplicate.describe() == (
        f"2 registrations of QUIN tagged 'Quinyx 2022' ({second_quinyx.id} in use, extra "
        f"{regs[0].id}): the API cannot delete registrations; remove the extra ones in "
        "Canvas, then run apply again"
    )

    unbound = diff(
        spec, CATALOGUE, account_id=ACCOUNT, registrations=[*regs, second_quinyx], workflows=[]
    )
    assert unbound.duplicates[0].kept == regs[0].id  # bound by none: the first listed


def test_a_block_is_named_as_the_client_names_it() -> None:
    """By name, or by its uniqueBlockId in any form uuid reads: one rule with variables=."""
    braced = "{" + str(GET_EMPLOYEES).upper() + "}"
    spec = _spec(FILE.replace("API - Get Employees", braced))  # checked: no problem

    assert list(block_variables(spec.workflows[0], TEMPLATE)) == [str(GET_EMPLOYEES)]
    assert fingerprint(spec.workflows[0], TEMPLATE) == fingerprint(_spec().workflows[0], TEMPLATE)


def test_descriptions_carry_the_fingerprint() -> None:
    assert (
        managed_description("Nightly", "0123456789abcdef")
        == "Nightly [canvas-async:0123456789abcdef]"
    )
    assert split_description("Nightly [canvas-async:0123456789abcdef]") == (
        "Nightly",
        "0123456789abcdef",
    )
    assert split_description(None) == ("", None)
    assert split_description("[canvas-async:nothex]") == ("[canvas-async:nothex]", None)


def test_fingerprints_follow_references_not_their_values() -> None:
    spec = _spec()
    same = _spec(FILE.replace("API - Get Employees", str(GET_EMPLOYEES)))

    assert fingerprint(spec.workflows[0], TEMPLATE) == fingerprint(same.workflows[0], TEMPLATE)
    assert len(fingerprint(spec.workflows[0], TEMPLATE)) == 16


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (('tag = "Quinyx 2022"', 'application = "NOPE"\ntag = "Q"'), "unknown application 'NOPE'"),
        (("username", "user"), "unknown credential fields user"),
        (("username", "port"), "username (User name) is required"),
        (('plain = "test"', 'plain = "prod"'), "must be one of live, test"),
        (("Quinyx Employee Export", "Unknown"), "unknown template"),
        (("apiKeys", "apiKey"), "has no variable apiKey"),
        (("API - Get Employees", "API"), "no block 'API' in the template"),
    ],
)
def test_check_names_what_the_catalogue_refuses(edit: tuple[str, str], expected: str) -> None:
    problems = check(loads(FILE.replace(*edit)), CATALOGUE)

    assert any(expected in p for p in problems), problems


def test_check_refuses_a_block_named_twice_as_the_client_does() -> None:
    # By its name and by its id: apply would keep one of the two sets of values silently.
    line = 'variables."API - Get Employees".apiKeys = ["${K}"]'
    text = FILE.replace(line, f'{line}\nvariables."{GET_EMPLOYEES}".badgeNo = 7')
    assert text != FILE
    [problem] = check(loads(text), CATALOGUE)
    assert problem.startswith("accounts[0].workflows.Export.variables: "), problem
    assert "is named twice" in problem


def test_check_names_a_place_as_the_file_is_read() -> None:
    # One rule for paths: a key that is not a plain name is quoted, as the loader does.
    text = FILE.replace("[defaults.workflows.Export]", '[defaults.workflows."My export"]')
    text = text.replace("Quinyx Employee Export", "Unknown")
    [problem] = check(loads(text), CATALOGUE)
    assert '.workflows."My export".template: unknown template' in problem, problem


def test_check_wants_every_template_application_bound() -> None:
    text = FILE.replace("[defaults.applications.FTP]", "[defaults.applications.FILES]")
    text = text.replace('tag = "FTP 2022"', 'application = "FTP"\ntag = "FTP 2022"')

    [problem] = check(loads(text), CATALOGUE)
    assert "needs application FTP" in problem

    bound = text + 'workflows.Export.applications.FTP = "FILES"\n'
    assert check(loads(bound), CATALOGUE) == []


def test_plan_refuses_what_the_client_would_refuse_hidden_required_fields_too() -> None:
    # The server requires a hidden field as well: the client refuses a
    # registration without it, so plan must refuse the file first.
    hidden = f.application(
        "FTP",
        FTP.id,
        (*FTP.credential_fields, CredentialField("tenant", "Tenant", hidden=True)),
    )
    problems = check(loads(FILE), Catalogue.of([QUIN, hidden], [TEMPLATE]))

    assert any("tenant (Tenant) is required" in p for p in problems), problems
    with pytest.raises(ValidationError, match=r"tenant \(Tenant\) is required"):
        CREATE_REG_APPLICATION(hidden, "tag", {"username": "u"})
