"""The resource APIs, one per family of operations."""

from ._accounts import AccountsAPI
from ._applications import ApplicationsAPI, RegApplicationsAPI
from ._base import send, send_create
from ._meta import MetaAPI
from ._templates import TemplatesAPI
from ._workflows import WorkflowsAPI

__all__ = [
    "AccountsAPI",
    "ApplicationsAPI",
    "MetaAPI",
    "RegApplicationsAPI",
    "TemplatesAPI",
    "WorkflowsAPI",
    "send",
    "send_create",
]
