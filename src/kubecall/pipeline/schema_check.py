"""A fast "is this valid?" for the JSON Schema keywords the workflow's schemas use.

Config and sample sheet are validated at every snakemake start: by the driver, and again by
each of the thousands of cluster jobs (every job parses the workflow anew). jsonschema takes
about 0.1 ms a sheet row (0.3 s for 2,504 samples) and some 50 ms just to import. The check
compiled here answers what jsonschema's Draft 2020-12 validation answers, keyword by keyword
its semantics (tests/unit/test_schema_check.py compares the two), so the validators import
and run jsonschema only to explain an instance that fails it, or for a schema the check
cannot compile.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never make an instance invalid.
ANNOTATIONS = frozenset({"$schema", "$comment", "title", "description", "default", "examples"})


def _is_integer(value: Any) -> bool:
    # Draft 6 and later: 1.0 is an integer; a bool never is one (nor a number).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


# jsonschema's Draft 2020-12 type checker.
TYPES: dict[str, Check] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


def compile_check(schema: Any) -> Check | None:
    """``instance -> valid?``, equal to Draft 2020-12 validation by jsonschema, for schemas
    of the keywords: type, enum and const (of strings or booleans), pattern, minLength,
    maxLength, minimum, maximum, required, properties, additionalProperties, items,
    uniqueItems, if/then/else and annotations. None for a schema using any other keyword:
    then jsonschema alone must decide.
    """
    if isinstance(schema, bool):
        return lambda instance: schema
    if not isinstance(schema, dict):
        return None
    checks = []
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS or keyword in ("then", "else"):  # then/else: under "if"
            continue
        check = _compile_keyword(keyword, value, schema)
        if check is None:
            return None
        checks.append(check)
    if len(checks) == 1:
        return checks[0]

    def every(instance: Any) -> bool:
        for check in checks:
            if not check(instance):
                return False
        return True
    return every


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _compile_keyword(keyword: str, value: Any, schema: dict) -> Check | None:
    if keyword == "type":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(name in TYPES for name in names):
            return None
        checkers = [TYPES[name] for name in names]
        if len(checkers) == 1:
            return checkers[0]
        return lambda instance: any(checker(instance) for checker in checkers)
    if keyword == "enum" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        # jsonschema's equal() is == when either side is a string.
        members = frozenset(value)
        return lambda instance: isinstance(instance, str) and instance in members
    if keyword == "const" and isinstance(value, bool):
        return lambda instance: instance is value  # equal(): True is not 1
    if keyword == "const" and isinstance(value, str):
        return lambda instance: isinstance(instance, str) and instance == value
    if keyword == "pattern" and isinstance(value, str):
        search = re.compile(value).search  # jsonschema: re.search, anywhere in the string
        return lambda instance: not isinstance(instance, str) or search(instance) is not None
    if keyword == "minLength" and _count(value):
        return lambda instance: not isinstance(instance, str) or len(instance) >= value
    if keyword == "maxLength" and _count(value):
        return lambda instance: not isinstance(instance, str) or len(instance) <= value
    if keyword in ("minimum", "maximum") and _is_number(value):
        if keyword == "minimum":
            return lambda instance: not _is_number(instance) or not instance < value
        return lambda instance: not _is_number(instance) or not instance > value
    if keyword == "required" and isinstance(value, list):
        return lambda instance: not isinstance(instance, dict) or all(
            key in instance for key in value)
    if keyword == "properties" and isinstance(value, dict):
        return _properties(value)
    if keyword == "additionalProperties" and "patternProperties" not in schema:
        extra = compile_check(value)
        known = set(schema.get("properties", {}))
        if extra is None:
            return None
        return lambda instance: not isinstance(instance, dict) or all(
            extra(item) for key, item in instance.items() if key not in known)
    if keyword == "items" and "prefixItems" not in schema:
        each = compile_check(value)
        if each is None:
            return None
        return lambda instance: not isinstance(instance, list) or all(
            each(item) for item in instance)
    if keyword == "uniqueItems" and isinstance(value, bool):
        return lambda instance: not value or not isinstance(instance, list) or \
            _unique(instance)
    if keyword == "if":
        condition, then, otherwise = (compile_check(schema.get(key, True))
                                      for key in ("if", "then", "else"))
        if condition is None or then is None or otherwise is None:
            return None
        return lambda instance: then(instance) if condition(instance) else otherwise(instance)
    return None


def _properties(properties: dict) -> Check | None:
    compiled = [(key, compile_check(subschema)) for key, subschema in properties.items()]
    if any(check is None for _, check in compiled):
        return None

    def each_property(instance: Any) -> bool:
        if isinstance(instance, dict):
            for key, check in compiled:
                if key in instance and not check(instance[key]):  # type: ignore[misc]
                    return False
        return True
    return each_property


def _unique(items: list) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    # Other items compare as jsonschema's equal() does (1 == 1.0, True != 1): ask it.
    import jsonschema

    return jsonschema.Draft202012Validator({"uniqueItems": True}).is_valid(items)
