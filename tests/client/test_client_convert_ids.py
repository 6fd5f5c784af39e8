"""The converter reads each referred-to GUID once and shares the UUID, within bounds."""

from __future__ import annotations

import json
import uuid

from canvas_async import _convert
from canvas_async.models import Workflow
from tests.client.test_client_convert import WORKFLOW


def test_repeated_ids_share_one_uuid() -> None:
    """Every workflow of a listing names the same organization and account:
    those ids are read once."""
    raw = json.dumps([WORKFLOW, {**WORKFLOW, "id": str(uuid.uuid4())}]).encode()

    first, second = _convert.parse_workflows(raw)

    assert first.organization_id == uuid.UUID(WORKFLOW["organizationId"])
    assert first.organization_id is second.organization_id
    assert first.account_id is second.account_id
    assert first.reg_application_ids[0] is second.reg_application_ids[0]
    assert first.id != second.id


def test_a_shared_uuid_is_the_one_the_constructor_builds() -> None:
    text = str(uuid.uuid4())
    _convert.structure({**WORKFLOW, "accountId": text}, Workflow)

    again = _convert.structure({**WORKFLOW, "accountId": text}, Workflow).account_id

    assert again == uuid.UUID(text)
    assert hash(again) == hash(uuid.UUID(text))
    assert str(again) == text


def test_the_cache_stays_bounded() -> None:
    """Reading more distinct ids than the cache holds empties it instead of
    growing, and every id still reads right."""
    ids = [uuid.uuid4() for _ in range(_convert._UUIDS_MAX + 10)]
    payload = [{**WORKFLOW, "accountId": str(value)} for value in ids]

    parsed = _convert.structure(payload, list[Workflow])

    assert [workflow.account_id for workflow in parsed] == ids
    assert 0 < len(_convert._UUIDS) <= _convert._UUIDS_MAX


def test_non_canonical_forms_are_not_cached_under_another_text() -> None:
    value = uuid.uuid4()

    upper = _convert.structure({**WORKFLOW, "accountId": str(value).upper()}, Workflow).account_id
    braced = _convert.structure(
        {**WORKFLOW, "accountId": "{" + str(value) + "}"}, Workflow
    ).account_id

    assert upper == braced == value
    assert "{" + str(value) + "}" not in _convert._UUIDS


def test_own_ids_are_not_remembered() -> None:
    """A listing's own ids are all different: remembering them would only
    push out the ones that repeat."""
    own = str(uuid.uuid4())

    parsed = _convert.structure({**WORKFLOW, "id": own}, Workflow)

    assert parsed.id == uuid.UUID(own)
    assert own not in _convert._UUIDS
