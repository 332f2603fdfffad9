"""Label and field selectors, as in `?labelSelector=` and `?fieldSelector=`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ApiError

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t for t in terms if t.strip()]


def parse_label_selector(text: str) -> Callable[[dict[str, str]], bool]:
    """Parse `a=b,c!=d,e in (f,g),!h,i` into a predicate over a label map."""
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(text or ""):
        eq = _EQ_RE.match(term)
        if eq:
            key, op, value = eq.groups()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        st = _SET_RE.match(term)
        if not st:
            raise ApiError(400, f"unable to parse requirement: {term!r}")
        neg, key, op, values = st.groups()
        if op:
            allowed = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) in a)
            else:
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif neg:
            checks.append(lambda labels, k=key: k not in labels)
        else:
            checks.append(lambda labels, k=key: k in labels)
    return lambda labels: all(check(labels) for check in checks)


def selector_from_spec(selector: dict[str, Any] | None) -> Callable[[dict[str, str]], bool]:
    """A LabelSelector object (matchLabels + matchExpressions) as a predicate."""
    selector = selector or {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []

    def matches(labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in match_labels.items()):
            return False
        for expr in expressions:
            key, op, values = expr["key"], expr["operator"], expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and labels.get(key) in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    return matches


def field_value(obj: Obj, path: str) -> str:
    """The string value of a dotted field path (`status.phase`), "" when absent."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str) -> Predicate:
    """Parse `metadata.name=x,status.phase!=Running` into a predicate over objects."""
    checks: list[Predicate] = []
    for term in _split_terms(text or ""):
        eq = _EQ_RE.match(term)
        if not eq:
            raise ApiError(400, f"invalid field selector: {term!r}")
        path, op, value = eq.groups()
        if op == "!=":
            checks.append(lambda o, p=path, v=value: field_value(o, p) != v)
        else:
            checks.append(lambda o, p=path, v=value: field_value(o, p) == v)
    return lambda obj: all(check(obj) for check in checks)


def object_predicate(label_selector: str, field_selector: str) -> Predicate:
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)
    return lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj)
