"""Accounts: list the organization's accounts, create one."""

from __future__ import annotations

import uuid

from canvas_async import _convert, _requests, _success, _validate, models
from canvas_async._errors import CanvasError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource, accepted_unresolved


class AccountsAPI(Resource):
    """``canvas.accounts``: the organization's accounts."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.Account]:
        """Return every active account of the organization."""
        return await self._call("list_accounts", self._models(models.Account), timeout=timeout)

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
        _validate.check_account(
            first_name=first_name,
            last_name=last_name,
            email=email,
            role=role,
            country_key=country_key,
            default_notification_email=default_notification_email,
        )
        body = _requests.NewAccount(
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email.strip(),
            role_name=str(role),
            phone=phone,
            country_key=country_key,
            global_notifications=global_notifications,
            default_notification_email=default_notification_email,
            activated=activated,
        )
        new_id = await self._call(
            "create_account", _success.guid_in, body=_convert.unstructure(body), timeout=timeout
        )
        if new_id is not None:
            return new_id
        try:
            listed = await self.list(timeout=timeout)
        except CanvasError as error:
            problem = "it answered without the new id, and listing the accounts failed"
            raise accepted_unresolved("create_account", problem, self.account_id) from error
        found = _success.find_created("create_account", listed, body.email)
        if found is None:
            # An inactive account is not listed until activated.
            problem = f"it answered without the new id, and no active account has {body.email!r}"
            raise accepted_unresolved("create_account", problem, self.account_id)
        return found.id
