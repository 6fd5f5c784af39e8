"""The manifests of examples/k8s, read as Kubernetes reads them: what they pass the command is
what its parser accepts, and they hold what the README says they do.

(.ci/run validates them against the Kubernetes schemas of every version they claim.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from canvas_async._config import CONSUMER_VAR, FILE_SUFFIX, SECRET_KEY_VAR
from canvas_async.cli import _exit
from canvas_async.cli._parser import build_parser
from tests.support import ROOT

MANIFESTS = ROOT / "examples" / "k8s"
JOBS = ("indexed-job.yaml", "cronjob.yaml")
#: The exit status of drift a run cannot fix (failed for good, as bad input is).


def documents(name: str) -> list[dict[str, Any]]:
    """The objects of a manifest file."""
    text = (MANIFESTS / name).read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def job_spec(name: str) -> dict[str, Any]:
    """The Job's spec (a CronJob's job template's)."""
    (manifest,) = documents(name)
    spec: dict[str, Any] = manifest["spec"]
    return spec["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else spec


def container(name: str) -> dict[str, Any]:
    """The converging container of a manifest."""
    (only,) = job_spec(name)["template"]["spec"]["containers"]
    value: dict[str, Any] = only
    return value


def manifest_args(name: str) -> list[str]:
    """The container's args in a manifest."""
    args = container(name)["args"]
    assert all(isinstance(arg, str) for arg in args)
    return list(args)


def env_of(name: str) -> dict[str, Any]:
    return {var["name"]: var.get("value") for var in container(name)["env"]}


@pytest.mark.parametrize("name", JOBS)
def test_the_command_line_is_one_the_parser_accepts(name: str) -> None:
    args = build_parser().parse_args(manifest_args(name))
    spec = job_spec(name)
    assert args.handler.endswith(":apply")
    assert args.file == "/config/accounts.toml"
    assert args.shard_from_env == "JOB_COMPLETION_INDEX"
    assert args.shards == spec["completions"] == spec["parallelism"]
    assert args.expect_hash == "$(EXPECTED_HASH)"  # Kubernetes expands it from the env
    assert "EXPECTED_HASH" in env_of(name)
    assert args.lease_store == "kubernetes"
    assert not args.no_lease
    assert args.json  # the report on stdout: the pod's log
    # The run stops starting work before the Job's hard deadline, and reports.
    assert args.deadline is not None
    assert 0 < spec["activeDeadlineSeconds"] - args.deadline <= 600


@pytest.mark.parametrize("name", JOBS)
def test_an_index_fails_for_good_only_where_retrying_cannot_help(name: str) -> None:
    spec = job_spec(name)
    assert spec["completionMode"] == "Indexed"
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["backoffLimitPerIndex"] >= 1
    assert spec["ttlSecondsAfterFinished"] > 0
    fail, ignore = spec["podFailurePolicy"]["rules"]
    assert fail["action"] == "FailIndex"
    assert fail["onExitCodes"]["containerName"] == container(name)["name"]
    assert fail["onExitCodes"]["values"] == [_exit.USAGE, _exit.UNFIXABLE]
    assert ignore == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }


@pytest.mark.parametrize("name", JOBS)
def test_the_pod_runs_locked_down_and_reads_its_keys_from_files(name: str) -> None:
    pod = job_spec(name)["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    box = container(name)["securityContext"]
    assert box == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["name"]: m["mountPath"] for m in container(name)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # The one writable place: the pod's own, and the temporary directory.
    assert mounts["tmp"] == env_of(name)["TMPDIR"]
    assert "emptyDir" in volumes["tmp"]
    # The keys: files of a Secret volume, named by the variables the CLI reads.
    keys = Path(mounts["canvas-keys"])
    assert "secret" in volumes["canvas-keys"]
    env = env_of(name)
    for var in (CONSUMER_VAR, SECRET_KEY_VAR):
        assert var not in env
        assert Path(env[var + FILE_SUFFIX]).parent == keys
    assert all("secretRef" in source for source in container(name).get("envFrom", []))


@pytest.mark.parametrize("name", JOBS)
def test_only_the_pods_that_hold_the_lease_get_a_token_that_may(name: str) -> None:
    account, role, binding = documents("rbac.yaml")
    pod = job_spec(name)["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["automountServiceAccountToken"] is False
    assert pod["automountServiceAccountToken"] is True
    assert role["kind"] == "Role"  # its namespace only
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update", "delete"],
        }
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"]}]


def test_the_image_is_the_one_the_dockerfile_builds() -> None:
    dockerfile = (MANIFESTS / "Dockerfile").read_text(encoding="utf-8")
    tags = {container(name)["image"] for name in JOBS}
    assert len(tags) == 1
    assert f"-t {tags.pop()} ." in dockerfile
    assert "[cli,kubernetes]" in dockerfile
    assert 'ENTRYPOINT ["canvas-async"]' in dockerfile
    assert "USER 10001:10001" in dockerfile
    (pod,) = {str(job_spec(name)["template"]["spec"]["securityContext"]) for name in JOBS}
    assert "'runAsUser': 10001" in pod
