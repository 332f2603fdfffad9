"""What a pod's status means for its job (kubecall.cluster.state): the snakemake container
decides, whatever sidecars run beside it (issue 15, finding 6); image pulls that may pass are
waited for, those that cannot fail at once (finding 5)."""

from __future__ import annotations

import pytest

from kubecall.cluster.state import (
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    image_pull_is_permanent,
    pod_outcome,
)

IMAGE = "ghcr.io/kubecall/kubecall:0.1.0"
TOO_MANY = (f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = failed to pull '
            f'and unpack image "{IMAGE}": failed to copy: httpReadSeeker: failed open: '
            "unexpected status code https://ghcr.io/v2/x/blobs/sha256:0: 429 Too Many Requests")
TIMEOUT = (f'Failed to pull image "{IMAGE}": rpc error: code = DeadlineExceeded desc = failed '
           f'to pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": failed '
           'to do request: Head "https://ghcr.io/v2/x/manifests/0.1.0": dial tcp '
           "140.82.112.34:443: i/o timeout")
NOT_FOUND = (f'Failed to pull image "{IMAGE}": rpc error: code = NotFound desc = failed to '
             f'pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": '
             f"{IMAGE}: not found")
DENIED = (f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = failed to pull '
          f'and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": pull access '
          "denied, repository does not exist or may require authorization: server message: "
          "insufficient_scope: authorization failed")
UNAUTHORIZED = (f'Failed to pull image "{IMAGE}": rpc error: code = Unknown desc = failed to '
                f'pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": '
                "failed to authorize: failed to fetch oauth token: unexpected status: 401 "
                "Unauthorized")


def status(name: str, **state: dict) -> dict:
    return {"name": name, "image": IMAGE, "state": state}


def pod(phase: str, *containers: dict, init: tuple[dict, ...] = ()) -> dict:
    body: dict = {"status": {"phase": phase, "containerStatuses": list(containers)}}
    if init:
        body["status"]["initContainerStatuses"] = list(init)
    return body


def done(code: int, reason: str = "") -> dict:
    return {"exitCode": code, "reason": reason or ("Completed" if code == 0 else "Error")}


PROXY_RUNNING = status("istio-proxy", running={"startedAt": "2026-01-01T00:00:00Z"})
SNAKEMAKE_RUNNING = status("snakemake", running={"startedAt": "2026-01-01T00:00:00Z"})


@pytest.mark.parametrize(("body", "expected"), [
    # A regular sidecar keeps the pod Running: the snakemake container decides.
    (pod("Running", status("snakemake", terminated=done(0)), PROXY_RUNNING),
     (SUCCEEDED, "")),
    (pod("Running", PROXY_RUNNING, status("snakemake", terminated=done(2))), (FAILED, "Error")),
    (pod("Running", status("snakemake", terminated=done(137, "OOMKilled")), PROXY_RUNNING),
     (FAILED, "OOMKilled")),
    # A sidecar that died does not fail a job whose container succeeded.
    (pod("Failed", status("snakemake", terminated=done(0)),
         status("istio-proxy", terminated=done(1))), (SUCCEEDED, "")),
    (pod("Running", SNAKEMAKE_RUNNING, status("istio-proxy", terminated=done(1))),
     (RUNNING, "")),
    # The pod runs (its proxy does) but snakemake has not started yet.
    (pod("Running", status("snakemake", waiting={"reason": "ContainerCreating"}),
         PROXY_RUNNING), (PENDING, "")),
    # Native sidecars are init containers; they never decide the outcome.
    (pod("Running", SNAKEMAKE_RUNNING, init=(PROXY_RUNNING,)), (RUNNING, "")),
    (pod("Succeeded", status("snakemake", terminated=done(0)),
         init=(status("istio-proxy", terminated=done(137)),)), (SUCCEEDED, "")),
    (pod("Pending", status("snakemake", waiting={"reason": "PodInitializing"}),
         init=(status("istio-proxy", waiting={"reason": "ErrImagePull", "message": NOT_FOUND}),)),
     (FAILED, "ErrImagePull")),
])
def test_the_snakemake_container_decides_whatever_sidecars_do(
        body: dict, expected: tuple[str, str]) -> None:
    outcome = pod_outcome(body)
    assert (outcome.state, outcome.reason) == expected, outcome


@pytest.mark.parametrize("message", [TOO_MANY, TIMEOUT])
def test_a_transient_pull_failure_waits_and_says_why(message: str) -> None:
    pulling = pod("Pending", status("snakemake", waiting={"reason": "ErrImagePull",
                                                          "message": message}))
    outcome = pod_outcome(pulling)
    assert (outcome.state, outcome.reason, outcome.message) == (PENDING, "ErrImagePull", message)
    backoff = pod("Pending", status("snakemake", waiting={
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{IMAGE}": ErrImagePull: {message}'}))
    # The same sentence in back-off (Kubernetes 1.32+), so the driver says it once.
    assert pod_outcome(backoff) == outcome.__class__(PENDING, "ImagePullBackOff", message)


@pytest.mark.parametrize("message", [NOT_FOUND, DENIED, UNAUTHORIZED])
def test_a_permanent_pull_failure_fails_at_once_with_the_reason(message: str) -> None:
    assert image_pull_is_permanent(message)
    for waiting in ({"reason": "ErrImagePull", "message": message},
                    {"reason": "ImagePullBackOff",
                     "message": f'Back-off pulling image "{IMAGE}": ErrImagePull: {message}'}):
        outcome = pod_outcome(pod("Pending", status("snakemake", waiting=waiting)))
        assert outcome.state == FAILED and message in outcome.message
        assert "the image, its tag or the pull credentials are wrong" in outcome.message


def test_a_back_off_without_the_error_waits() -> None:
    # Before Kubernetes 1.32 the back-off message names only the image.
    outcome = pod_outcome(pod("Pending", status("snakemake", waiting={
        "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{IMAGE}"'})))
    assert outcome.state == PENDING and outcome.reason == "ImagePullBackOff"


def test_an_invalid_image_name_fails_at_once() -> None:
    outcome = pod_outcome(pod("Pending", status("snakemake", waiting={
        "reason": "InvalidImageName", "message": 'couldn\'t parse image reference "A:b"'})))
    assert (outcome.state, outcome.reason) == (FAILED, "InvalidImageName")
