"""The core's seams, without a network: definitions, scope families, token sender."""

from __future__ import annotations

import uuid

import pytest

from canvas_async import Canvas, ValidationError, WorkflowsAPI, _operations
from canvas_async._auth import TokenRequest


def client() -> Canvas:
    return Canvas(consumer="consumer", secret_key="secret", env="http://127.0.0.1:9")


class TestOperations:
    def test_the_request_is_checked_and_built(self) -> None:
        """Calling a definition checks the arguments and returns the request."""
        workflow_id = uuid.uuid4()

        operation, (params, body) = _operations.GET_WORKFLOW(str(workflow_id).upper())

        assert operation is _operations.GET_WORKFLOW
        assert params == {"id": str(workflow_id)}
        assert body is None

    def test_bad_arguments_are_refused_before_sending(self) -> None:
        """A bad block range never becomes a request."""
        with pytest.raises(ValidationError, match="from_block"):
            _operations.RUN_WORKFLOW(uuid.uuid4(), 3, 2)

    def test_turning_the_scheduler_off_can_send_the_cron(self) -> None:
        """Off with a cron sends it along, as the documentation's example does."""
        workflow_id = uuid.uuid4()

        _, (_, off) = _operations.WORKFLOW_SCHEDULER(workflow_id, None)
        _, (_, off_with_cron) = _operations.WORKFLOW_SCHEDULER(
            workflow_id, "0 0 * ? * *", enabled=False
        )

        assert off == {"workflowId": str(workflow_id), "isScheduled": False}
        assert off_with_cron == {**off, "scheduleFrequency": '{"cronSchedule":"0 0 * ? * *"}'}

    @pytest.mark.parametrize(
        "body", ["Workflow Scheduler enabled", "", True, "a4c70151-4922-4503-9466-f676c753d907"]
    )
    def test_a_write_takes_any_success_body(self, body: object) -> None:
        """A 2xx without the error envelope took effect, whatever it says."""
        assert _operations.WORKFLOW_SCHEDULER.parse(None, body) is None
        assert _operations.DELETE_WORKFLOW.parse(None, body) is None


class TestScope:
    def test_a_family_is_built_once_per_view(self) -> None:
        """The client and each view keep one resource API per family."""
        canvas = client()
        view = canvas.for_account(uuid.uuid4())

        assert canvas.workflows is canvas.workflows
        assert isinstance(canvas.workflows, WorkflowsAPI)
        assert canvas.workflows.account_id is None
        assert view.workflows is view.workflows
        assert view.workflows.account_id == view.account_id
        assert canvas.with_retries(0).workflows is not canvas.workflows

    def test_the_family_documents_itself(self) -> None:
        """Read on the class, a family is its descriptor, with its docstring."""
        assert Canvas.workflows.__doc__ == "The account's workflows."


class TestTokenRequest:
    def test_refuses_a_request_that_needs_the_session_token(self) -> None:
        """Token requests authenticate with keys or the refresh token only: a
        route that needs the session's token cannot even be asked for (its
        renewal would wait on itself)."""
        with pytest.raises(ValueError, match="not a token request"):
            TokenRequest("list_workflows")

        assert TokenRequest("delete_token").key == "delete_token"
