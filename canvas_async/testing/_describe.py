"""What GetMetaData and Describe answer: the API describing itself.

GetMetaData's descriptors repeat the vendor's page word for word (seed 001),
``"authenticate": false`` included: the page shows ``false`` for every
operation, those that need keys too. Which operations are listed comes from
the route table, so the answer names exactly what the emulator serves.
Describe's answer for AddWorkflowApiDto is the page's own; the other DTOs are
described in the same style from the spec's shapes, and the models by the keys
their records are sent with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from canvas_async._routes import Route

from ._dialect import Dialect
from ._records import (
    AccountRecord,
    ApplicationRecord,
    RegApplicationRecord,
    TemplateRecord,
    WorkflowRecord,
    _Wired,
    wire_keys,
)

# Route key -> (parameters, description, returns), in the page's order; the two
# token-mode operations, absent from that page, follow Authenticate. An
# operation the page does not list is described from its route.
DESCRIPTORS: Final[Mapping[str, tuple[str, str, str]]] = MappingProxyType(
    {
        "get_metadata": ("", "Returns controllers actions", "JSON array"),
        "describe": ("String name", "Describes object properties", ""),
        "authenticate": ("", "Checks authentification", "boolean"),
        "refresh_access_token": ("String refreshToken", "Refreshes the access token", "JSON"),
        "delete_token": ("String refreshToken", "Deletes the authentication tokens", "boolean"),
        "list_applications": ("", "Returns Canvas applications", "JSON Array"),
        "list_workflow_templates": ("", "Returns list of workflow templates", "JSON array"),
        "list_accounts": ("", "Returns list of accounts in the organization", "JSON array"),
        "list_reg_applications": ("", "Returns account registerred applications", "JSON Array"),
        "list_workflows": ("", "Returns list of registered workflows", "JSON array"),
        "get_workflow": ("Guid id", "Returns registered workflow by id", "JSON"),
        "create_reg_application": (
            "[FromBody]AddRegApplicationApiDto regApp",
            "Registers a new application and returns Id",
            "Guid",
        ),
        "create_workflow": (
            "[FromBody]AddWorkflowApiDto workflow",
            "Registers a new workflow based on template and returns Id",
            "Guid",
        ),
        "delete_workflow": ("Guid id", "Deletes workflow by Id", "Guid"),
        "run_workflow": ("[FromBody]RunMetadataApiDto metadata", "Runs workflow", "Guid"),
        "workflow_scheduler": (
            "[FromBody]UpdateWorkfowSchedulerApiDto scheduler",
            "Updates the workflow scheduler",
            "",
        ),
        "create_account": ("[FromBody]AddAccountApiDto data", "Account registration", ""),
    }
)


def endpoint_descriptors(
    served: Iterable[Route], *, token_mode: bool, dialect: Dialect | None = None
) -> list[dict[str, Any]]:
    """Return GetMetaData's answer for the routes the emulator serves, each
    under the name ``dialect`` lists it by."""
    served_keys = {route.key: route for route in served}
    # The page's operations in its order, then any other the emulator serves
    # (an operation added to the route table is listed without a line here).
    keys = [k for k in DESCRIPTORS if k in served_keys]
    keys += [k for k in served_keys if k not in DESCRIPTORS]
    answer = []
    for key in keys:
        route = served_keys[key]
        parameters, description, returns = DESCRIPTORS.get(key) or _described(route)
        name = route.operation if dialect is None else dialect.listed_name(route.operation)
        answer.append(
            {
                "name": name,
                "parameters": parameters,
                "verb": route.method,
                "authenticate": False,
                "description": description,
                # Authenticate answers a token object instead of true in token mode.
                "returns": "JSON" if key == "authenticate" and token_mode else returns,
            }
        )
    return answer


def _described(route: Route) -> tuple[str, str, str]:
    """Describe an operation the vendor's page does not list, from its route alone."""
    body = [f"[FromBody]{route.body} data"] if route.body else []
    parameters = ", ".join(body + [f"String {name}" for name in route.query])
    return parameters, route.operation, "JSON"


def _properties(text: str) -> list[dict[str, Any]]:
    """Return the properties ``text`` lists, as Describe answers them.

    Args:
        text: ``name:type`` or ``name:type<generic parameters>`` for each
            property, separated by spaces; ``name!`` marks a required one.
    """
    answer = []
    for item in text.split():
        name, _, type_name = item.partition(":")
        type_name, _, generic = type_name.removesuffix(">").partition("<")
        answer.append(
            {
                "typeName": type_name,
                "propertyName": name.removesuffix("!"),
                "genericParameters": generic,
                "isRequired": name.endswith("!"),
            }
        )
    return answer


def _model(record: type[_Wired]) -> list[dict[str, Any]]:
    """Return a model's properties: the keys its record is sent with, only ``id`` required."""
    keys = wire_keys(record)
    return _properties(" ".join(f"{key}{'!' * (key == 'id')}:{k.described}" for key, _, k in keys))


_OBJECTS: Final[Mapping[str, list[dict[str, Any]]]] = {
    "AddAccountApiDto": _properties(
        "firstName!:string lastName!:string email!:string phone:string roleName!:string "
        "countryKey:string globalNotifications:boolean defaultNotificationEmail:string "
        "activated:boolean"
    ),
    "AddRegApplicationApiDto": _properties(
        "applicationId!:guid tagText:string credentialsJson!:string"
    ),
    # Seed 001's answer, exactly.
    "AddWorkflowApiDto": _properties(
        "workflowTemplateId!:guid name:string description:string "
        "applications!:dictionary<string,guid> chain:iEnumerable<chainApiDto>"
    ),
    "ChainApiDto": _properties("uniqueBlockId!:guid variables:dictionary<string,object>"),
    "RunMetadataApiDto": _properties(
        "workflowId!:guid runFromBlock:nullable<int32> runTillBlock:nullable<int32>"
    ),
    "UpdateWorkfowSchedulerApiDto": _properties(
        "workflowId!:guid isScheduled!:boolean scheduleFrequency:string"
    ),
    "Account": _model(AccountRecord),
    "Application": _model(ApplicationRecord),
    "RegApplication": _model(RegApplicationRecord),
    "WorkflowTemplate": _model(TemplateRecord),
    "Workflow": _model(WorkflowRecord),
}

# Names are matched without regard to case, as the server's routing does.
_BY_FOLDED_NAME: Final = {name.casefold(): props for name, props in _OBJECTS.items()}


def describe(name: str, dialect: Dialect | None = None) -> list[dict[str, Any]] | None:
    """Return Describe's answer for the DTO or model ``name`` (with the
    properties ``dialect`` makes required); ``None`` if unknown."""
    properties = _BY_FOLDED_NAME.get(name.casefold())
    if properties is None:
        return None
    answer = [dict(prop) for prop in properties]
    return answer if dialect is None else dialect.properties(name, answer)
