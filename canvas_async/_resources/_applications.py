"""Applications Canvas supports, and their registrations for an account."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from canvas_async import _operations as op
from canvas_async import _validate, models
from canvas_async._errors import CanvasError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault

from ._base import Resource, send, send_create


class ApplicationsAPI(Resource):
    """``canvas.applications``: the third-party applications Canvas supports."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.Application]:
        """Return every application, with the credential fields each asks for."""
        return await send(self._view, op.LIST_APPLICATIONS(), timeout)

    async def get(
        self,
        application: str | uuid.UUID,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.Application:
        """Return one application by short name (``"QUIN"``) or id.

        Raises:
            NotFoundError: No application has that short name or id.
        """
        if not isinstance(application, uuid.UUID):
            _validate.check_name(application, "application")
        found = find_application(await self.list(timeout=timeout), application)
        if found is None:
            raise op.not_found_error(
                "list_applications", f"no application {str(application)!r}", self.account_id
            )
        return found


def find_application(
    applications: list[models.Application], wanted: str | uuid.UUID
) -> models.Application | None:
    """Find by id, then by exact short name, then by short name in any case."""
    key = str(wanted).strip()
    wanted_id = _validate.uuid_or_none(key)
    for app in applications:
        if app.id == wanted_id or app.short_name == key:
            return app
    folded = [app for app in applications if app.short_name.casefold() == key.casefold()]
    return folded[0] if len(folded) == 1 else None


class RegApplicationsAPI(Resource):
    """``view.reg_applications``: applications registered for the account."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> list[models.RegApplication]:
        """Return the account's registered applications (never their credentials)."""
        return await send(self._view, op.LIST_REG_APPLICATIONS(), timeout)

    async def create(
        self,
        application: models.Application | str | uuid.UUID,
        *,
        tag_text: str,
        credentials: Mapping[str, object],
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.RegApplication:
        """Register ``application`` for the account with its credentials.

        The credentials are checked against the application's credential
        fields first (required fields present, ``select`` values among the
        options, no unknown fields); they are sent as ``credentialsJson``, a
        JSON-encoded string, and never kept. The new registration is read
        back and returned.

        Args:
            application: The :class:`~canvas_async.Application`, or its short
                name or id (then the applications are listed to check against).
            tag_text: The registration's label, e.g. ``"Quinyx 2022-04-28"``.
            credentials: Credential short name to value.
            timeout: The timeout of each request made.

        Raises:
            ValidationError: Bad credentials or tag (nothing was sent).
            OutcomeUnknownError: The registration may have been made, or was
                but could not be read back; list before registering again.
        """
        if not isinstance(application, models.Application):
            _validate.check_name(tag_text, "tag_text")  # before the applications are listed
            application = await ApplicationsAPI(self._view).get(application, timeout=timeout)
        call = op.CREATE_REG_APPLICATION(application, tag_text, credentials)
        what = f"the {application.short_name} registration"
        new_id = await send_create(self._view, call, what, timeout)
        key = "create_reg_application"
        try:
            registrations = await self.list(timeout=timeout)
        except CanvasError as error:
            # The registration exists: say so, lest the caller register again.
            problem = f"{application.short_name} was registered (id {new_id}); reading it failed"
            raise op.accepted_write_error(key, problem, self.account_id) from error
        for registration in registrations:
            if registration.id == new_id:
                return registration
        problem = f"it registered {new_id}, which RegApplications does not list"
        raise op.accepted_write_error(key, problem, self.account_id)
