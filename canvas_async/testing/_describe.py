"""What GetMetaData and Describe answer: the API describing itself.

GetMetaData's descriptors repeat the vendor's page word for word (seed 001),
``"authenticate": false`` included: the page shows ``false`` for every
operation, those that need keys too. Which operations are listed comes from
the route table, so the answer names exactly what the emulator serves.
Describe's answer for AddWorkflowApiDto is the page's own; the other DTOs and
models are described in the same style from the spec's shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from canvas_async._routes import Route

from ._dialect import Dialect

__all__ = ["DESCRIPTORS", "describe", "described_names", "endpoint_descriptors"]

# Route key -> (parameters, description, returns), in the page's order; the two
# token-mode operations, absent from that page, follow Authenticate.
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
        parameters, description, returns = DESCRIPTORS.get(key, ("", route.operation, "JSON"))
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


def _p(type_name: str, name: str, generic: str = "", *, required: bool = False) -> dict[str, Any]:
    return {
        "typeName": type_name,
        "propertyName": name,
        "genericParameters": generic,
        "isRequired": required,
    }


_OBJECTS: Final[Mapping[str, list[dict[str, Any]]]] = {
    "AddAccountApiDto": [
        _p("string", "firstName", required=True),
        _p("string", "lastName", required=True),
        _p("string", "email", required=True),
        _p("string", "phone"),
        _p("string", "roleName", required=True),
        _p("string", "countryKey"),
        _p("boolean", "globalNotifications"),
        _p("string", "defaultNotificationEmail"),
        _p("boolean", "activated"),
    ],
    "AddRegApplicationApiDto": [
        _p("guid", "applicationId", required=True),
        _p("string", "tagText"),
        _p("string", "credentialsJson", required=True),
    ],
    # Seed 001's answer, exactly.
    "AddWorkflowApiDto": [
        _p("guid", "workflowTemplateId", required=True),
        _p("string", "name"),
        _p("string", "description"),
        _p("dictionary", "applications", "string,guid", required=True),
        _p("iEnumerable", "chain", "chainApiDto"),
    ],
    "ChainApiDto": [
        _p("guid", "uniqueBlockId", required=True),
        _p("dictionary", "variables", "string,object"),
    ],
    "RunMetadataApiDto": [
        _p("guid", "workflowId", required=True),
        _p("nullable", "runFromBlock", "int32"),
        _p("nullable", "runTillBlock", "int32"),
    ],
    "UpdateWorkfowSchedulerApiDto": [
        _p("guid", "workflowId", required=True),
        _p("boolean", "isScheduled", required=True),
        _p("string", "scheduleFrequency"),
    ],
    "Account": [
        _p("guid", "id", required=True),
        _p("string", "firstName"),
        _p("string", "lastName"),
        _p("string", "email"),
        _p("guid", "organizationId"),
        _p("string", "organizationName"),
        _p("guid", "roleId"),
        _p("string", "role"),
        _p("dateTime", "dateCreated"),
    ],
    "Application": [
        _p("guid", "id", required=True),
        _p("string", "name"),
        _p("string", "shortName"),
        _p("string", "description"),
        _p("string", "vendorUrl"),
        _p("iEnumerable", "credentialFields", "credentialField"),
        _p("dictionary", "credentialsJson", "string,object"),
        _p("string", "tag"),
        _p("int32", "sessionTimeMins"),
        _p("boolean", "sessionSlidingExpiry"),
    ],
    "RegApplication": [
        _p("guid", "id", required=True),
        _p("string", "shortName"),
        _p("guid", "accountId"),
        _p("guid", "applicationId"),
        _p("string", "name"),
        _p("string", "tagText"),
        _p("string", "description"),
        _p("boolean", "isAuthenticated"),
        _p("boolean", "isOAuthApp"),
        _p("dateTime", "dateModified"),
        _p("nullable", "dateTimeUtcAuthenticated", "dateTime"),
        _p("nullable", "dateTimeForReAuth", "dateTime"),
        _p("int32", "sessionTimeMins"),
        _p("boolean", "sessionSlidingExpiry"),
        _p("boolean", "faulted"),
    ],
    "WorkflowTemplate": [
        _p("guid", "id", required=True),
        _p("string", "name"),
        _p("string", "description"),
        _p("dateTime", "dateCreated"),
        _p("dateTime", "dateModified"),
        _p("string", "state"),
        _p("string", "version"),
        _p("nullable", "draftIsCommitted", "boolean"),
        _p("nullable", "dateCommitted", "dateTime"),
        _p("nullable", "organizationId", "guid"),
        _p("iEnumerable", "applications", "string"),
        _p("iEnumerable", "chain", "workflowBlock"),
    ],
    "Workflow": [
        _p("guid", "id", required=True),
        _p("string", "name"),
        _p("string", "description"),
        _p("string", "status"),
        _p("boolean", "isScheduled"),
        _p("string", "schedulerFrequency"),
        _p("nullable", "workflowTemplateId", "guid"),
        _p("boolean", "isCustomizedStructure"),
        _p("guid", "accountId"),
        _p("guid", "organizationId"),
        _p("dateTime", "dateCreated"),
        _p("dateTime", "dateModified"),
        _p("nullable", "dateLastRun", "dateTimeOffset"),
        _p("nullable", "dateNextSchedule", "dateTimeOffset"),
        _p("iEnumerable", "regApplicationIds", "guid"),
        _p("int32", "currentBlock"),
    ],
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


def described_names() -> list[str]:
    """Return the names Describe knows."""
    return list(_OBJECTS)
