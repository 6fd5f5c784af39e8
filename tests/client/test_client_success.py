"""What a success answer means: the pure rules."""

from __future__ import annotations

import uuid

import pytest

from canvas_async import _operations

NEW_ID = uuid.UUID("ef7a56e6-448f-4787-b58d-47b063d6e983")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (str(NEW_ID), NEW_ID),
        (f' "{NEW_ID}" ', NEW_ID),
        (NEW_ID.hex, NEW_ID),
        (f"{{{NEW_ID}}}", NEW_ID),
        ("", None),
        (True, None),
        ("Workflow will now run", None),
        ("x" * 36, None),  # a GUID's length, not a GUID
        (42, None),
    ],
)
def test_guid_in(payload: object, expected: uuid.UUID | None) -> None:
    assert _operations.guid_in(payload) == expected


def test_find_created_matches_one_e_mail_in_any_case() -> None:
    class Item:
        def __init__(self, email: object) -> None:
            self.email = email

    items = [Item("Ada@Example.org"), Item(None), Item("bob@example.org")]

    assert _operations.find_created("create_account", items, " ada@example.org ") is items[0]
    assert _operations.find_created("create_account", [*items, items[0]], "ada@example.org") is None
    assert _operations.find_created("create_account", items, "eve@example.org") is None
