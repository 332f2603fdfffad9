"""Bounded retries of API calls (pure: a plain function stands in for the call)."""

from __future__ import annotations

import pytest
from kubernetes.client.rest import ApiException

from kubecall.cluster.kube import RetryPolicy, is_transient, with_retries

FAST = RetryPolicy(attempts=4, base=0.001, cap=0.01)


def flaky(failures: list[int]):  # type: ignore[no-untyped-def]
    """A call that fails with the given statuses, in order, then returns 'ok'."""
    calls = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise ApiException(status=failures.pop(0))
        return "ok"
    return call, calls


def test_transient_errors_are_retried_until_success() -> None:
    call, calls = flaky([503, 429, 500])
    assert with_retries(call, FAST) == "ok"
    assert len(calls) == 4


def test_retries_are_bounded() -> None:
    call, calls = flaky([503] * 10)
    with pytest.raises(ApiException) as raised:
        with_retries(call, FAST)
    assert raised.value.status == 503 and len(calls) == FAST.attempts


def test_client_errors_are_not_retried() -> None:
    call, calls = flaky([403])
    with pytest.raises(ApiException):
        with_retries(call, FAST)
    assert len(calls) == 1
    assert not is_transient(ApiException(status=404))
    assert is_transient(ConnectionResetError())


def test_retry_after_is_honoured_within_the_cap() -> None:
    assert RetryPolicy(cap=10).delay(0, "3") == 3
    assert RetryPolicy(cap=10).delay(0, "60") == 10
    assert RetryPolicy(base=1, cap=4).delay(5) <= 4


def test_patience_outlasts_the_attempt_count() -> None:
    """With `patience`, an outage is ridden out however many tries it takes (finding 7)."""
    call, calls = flaky([503] * 20)
    assert with_retries(call, RetryPolicy(attempts=2, base=0.001, cap=0.001,
                                          patience=300)) == "ok"
    assert len(calls) == 21
    assert not RetryPolicy(attempts=2).may_retry(1, 0.0)
    assert RetryPolicy(attempts=2, patience=900).may_retry(50, 899.0)
    assert not RetryPolicy(patience=900).may_retry(50, 901.0)
