"""Validate the workflow's config against its JSON schema, with messages a user can act on."""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubecall.errors import KubecallError
from kubecall.pipeline.schema_check import compile_check

if TYPE_CHECKING:
    import jsonschema


# libyaml's parser where PyYAML has it: reading the two schemas is on every snakemake start
# (each cluster job's too): 25 ms for the two with the pure-Python parser, 2 ms with it.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema(path: Path) -> dict[str, Any]:
    """Read a YAML JSON-Schema file."""
    with open(path) as handle:
        return yaml.load(handle, Loader=_SAFE_LOADER)


def validate_config(config: MutableMapping[str, Any], schema_path: Path, source: str) -> None:
    """Check ``config`` against the schema and fill in schema defaults, in place.

    Every violation is reported at once, each as ``<source>: <key path>: <problem>``, so a
    user fixes the file in one go. ``source`` names the config file(s) the values came from.
    """
    schema = load_schema(schema_path)
    # Checked without jsonschema, which is imported only to explain a violation: importing
    # it alone would cost every snakemake start (each cluster job's too) some 50 ms.
    valid = compile_check(schema)
    if valid is None or not valid(config):
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema)
        problems = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    else:
        problems = []
    if problems:
        lines = [f"{source}: {_describe(error)}" for error in problems]
        raise KubecallError(
            "invalid configuration:\n  "
            + "\n  ".join(lines)
            + "\n(every key is described in config/README.md)"
        )
    fill_defaults(config, schema)


def _describe(error: jsonschema.ValidationError) -> str:
    """One line naming the key path and what is wrong with it."""
    where = ".".join(str(part) for part in error.path) or "(top level)"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message}; remove it or check its spelling"
    return f"{where}: {error.message}"


def fill_defaults(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Set each absent property that has a schema ``default`` (recursing into objects)."""
    for key, subschema in schema.get("properties", {}).items():
        if key not in config and "default" in subschema:
            config[key] = _copy(subschema["default"])
        if isinstance(config.get(key), MutableMapping) and subschema.get("type") == "object":
            fill_defaults(config[key], subschema)


def _copy(value: Any) -> Any:
    """A fresh copy of a default, so two configs never share one mutable default."""
    return copy.deepcopy(value)
