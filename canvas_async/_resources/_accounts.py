"""Accounts: list the organization's accounts, create one."""

from __future__ import annotations

import uuid

from canvas_async import _operations as op
from canvas_async import models
from canvas_async._errors import CanvasError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource, send


class AccountsAPI(Resource):
    """``canvas.accounts``: the organization's accounts."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.Account]:
        """Return every active account of the organization."""
        return await send(self._view, op.LIST_ACCOUNTS(), timeout)

    async def create(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        role: models.Role | str = models.Role.USER,
        phone: str | None = None,
        country_key: str | None = None,
        global_notifications: bool | None = None,
        default_notification_email: str | None = None,
        activated: bool = True,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> uuid.UUID:
        """Create an account and return its id.

        An account created with ``activated=False`` stays inactive until the
        person completes the activation e-mail the server sends. A server
        that answers without the id (GetMetaData says Account returns ``""``)
        has the account found by its e-mail in the listing.

        Args:
            first_name: Given name.
            last_name: Family name.
            email: The account's e-mail; the server refuses one already used
                (:class:`~canvas_async.ConflictError`).
            role: ``User`` or ``SuperPartner`` (``Admin`` is refused).
            phone: Phone number, e.g. ``+470568765432``.
            country_key: ISO 3166-1 alpha-2 code, e.g. ``DE``.
            global_notifications: Whether to send notifications.
            default_notification_email: Where notifications go.
            activated: Create the account active.
            timeout: This call's timeout.

        Raises:
            ValidationError: A field is missing or malformed (nothing was sent).
            OutcomeUnknownError: The create may have taken effect (or did,
                but its id could not be found); list before repeating it.
        """
        call = op.CREATE_ACCOUNT(
            op.NewAccount(
                first_name=first_name,
                last_name=last_name,
                email=email,
                role_name=role,
                phone=phone,
                country_key=country_key,
                global_notifications=global_notifications,
                default_notification_email=default_notification_email,
                activated=activated,
            )
        )
        new_id = await send(self._view, call, timeout)
        return new_id if new_id is not None else await self._read_back(email, timeout)

    async def _read_back(self, email: str, timeout: TimeoutTypes | UseClientDefault) -> uuid.UUID:
        """Find the account a create answered without an id made, by its e-mail."""
        key = "create_account"
        try:
            listed = await self.list(timeout=timeout)
        except CanvasError as error:
            problem = "it answered without the new id, and listing the accounts failed"
            raise op.accepted_write_error(key, problem, self.account_id) from error
        found = op.find_created(key, listed, email)
        if found is None:
            # An inactive account is not listed until activated.
            problem = f"it answered without the new id, and no active account has {email!r}"
            raise op.accepted_write_error(key, problem, self.account_id)
        return found.id
