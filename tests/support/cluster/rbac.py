"""Authentication (bearer tokens) and RBAC authorization from stored roles and bindings."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from .resources import lookup
from .store import Store

RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class User:
    """An authenticated identity."""

    name: str
    groups: tuple[str, ...] = ()
    service_account: tuple[str, str] | None = None  # (namespace, name)

    @property
    def is_admin(self) -> bool:
        return "system:masters" in self.groups


@dataclass
class Tokens:
    """Bearer tokens: one admin token plus tokens minted for service accounts."""

    admin_token: str = field(default_factory=lambda: "admin-" + secrets.token_hex(16))
    _by_token: dict[str, tuple[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mint(self, namespace: str, name: str) -> str:
        """A new token for service account `namespace/name`."""
        token = f"sa-{namespace}-{name}-" + secrets.token_hex(12)
        with self._lock:
            self._by_token[token] = (namespace, name)
        return token

    def authenticate(self, token: str, store: Store) -> User | None:
        """The token's user, or None (unknown token, or its service account was deleted)."""
        if token == self.admin_token:
            return User("admin", ("system:masters", "system:authenticated"))
        with self._lock:
            sa = self._by_token.get(token)
        if sa is None:
            return None
        namespace, name = sa
        rt = lookup("", "serviceaccounts")
        assert rt is not None
        if store.find(rt, namespace, name) is None:
            return None
        return User(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                     "system:authenticated"), (namespace, name))


def impersonated(name: str, groups: tuple[str, ...] = ()) -> User:
    """The user an admin acts as with `Impersonate-User` (service accounts get their groups)."""
    if name.startswith("system:serviceaccount:"):
        namespace, _, sa = name.removeprefix("system:serviceaccount:").partition(":")
        return User(name, (*groups, "system:serviceaccounts",
                           f"system:serviceaccounts:{namespace}", "system:authenticated"),
                    (namespace, sa))
    return User(name, (*groups, "system:authenticated"))


def _subject_matches(subject: dict, user: User, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return user.service_account == (ns, subject.get("name"))
    if kind == "User":
        return subject.get("name") == user.name
    if kind == "Group":
        return subject.get("name") in user.groups
    return False


def _rule_allows(rule: dict, verb: str, group: str, resource: str, name: str) -> bool:
    def has(values: list[str] | None, wanted: str) -> bool:
        return bool(values) and ("*" in values or wanted in values)

    if not has(rule.get("verbs"), verb):
        return False
    if not has(rule.get("apiGroups"), group):
        return False
    resources = rule.get("resources") or []
    base = resource.split("/")[0]
    if not ("*" in resources or resource in resources
            or ("/" in resource and f"*/{resource.split('/', 1)[1]}" in resources)
            or ("/" not in resource and base in resources)):
        return False
    names = rule.get("resourceNames")
    return not names or name in names


class Authorizer:
    """Decides whether a user may perform a verb on a resource, from the stored RBAC objects."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def allowed(self, user: User, verb: str, group: str, resource: str, namespace: str,
                name: str) -> bool:
        """`resource` is `plural` or `plural/subresource`."""
        if user.is_admin:
            return True
        for rules in self._rules_for(user, namespace):
            if any(_rule_allows(rule, verb, group, resource, name) for rule in rules):
                return True
        return False

    def _rules_for(self, user: User, namespace: str) -> Iterator[list[dict]]:
        role_rt = lookup(RBAC, "roles")
        crole_rt = lookup(RBAC, "clusterroles")
        rb_rt = lookup(RBAC, "rolebindings")
        crb_rt = lookup(RBAC, "clusterrolebindings")
        assert role_rt and crole_rt and rb_rt and crb_rt
        bindings, _ = self.store.list(crb_rt)
        for binding in bindings:
            if any(_subject_matches(s, user, "") for s in binding.get("subjects") or []):
                role = self.store.find(crole_rt, "", binding["roleRef"]["name"])
                if role:
                    yield role.get("rules") or []
        if not namespace:
            return
        bindings, _ = self.store.list(rb_rt, namespace)
        for binding in bindings:
            if not any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                continue
            ref = binding["roleRef"]
            if ref.get("kind") == "ClusterRole":
                role = self.store.find(crole_rt, "", ref["name"])
            else:
                role = self.store.find(role_rt, namespace, ref["name"])
            if role:
                yield role.get("rules") or []
