"""``default-resources`` and ``set-resources`` in either spelling (list of ``k=v`` or
mapping), with the resources only the old executors read taken out and reported."""

from __future__ import annotations

from kubecall.errors import KubecallError
from kubecall.migration.cmdline import scalar
from kubecall.migration.model import PLUGIN_SOURCE, Conversion

# Resources snakemake-executor-plugin-kubernetes reads besides mem_mb/disk_mb/_cores
# (run_job in its __init__.py; machine_type also in Snakemake 7's KubernetesExecutor).
OLD_ONLY_RESOURCES = {
    "machine_type": "a nodeSelector node.kubernetes.io/instance-type=VALUE",
    "gpu": "an nvidia.com/gpu or amd.com/gpu request",
    "gpu_manufacturer": "the GPU vendor's toleration",
    "scale": "leaving out limits (scale=1, the plugin's default)",
}


def _items(value: object, where: str, form: str) -> list[object]:
    """A list-valued setting's items (a string is split at spaces, as on a command line)."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list):
        raise KubecallError(f"{where}: expected {form} items or a mapping, got {value!r}")
    return items


def as_mapping(value: object, where: str) -> dict[str, object]:
    """``["mem_mb=1000", ...]``, ``"mem_mb=1000 ..."`` or ``{mem_mb: 1000}`` as a mapping."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    pairs: dict[str, object] = {}
    for item in _items(value, where, "KEY=VALUE"):
        key, sep, text = str(item).partition("=")
        if not sep:
            raise KubecallError(f"{where}: {item!r} is not KEY=VALUE; write it as "
                                "e.g. mem_mb=2000")
        pairs[key.strip()] = scalar(text.strip())
    return pairs


def per_rule(value: object, where: str) -> dict[str, object]:
    """``set-resources``/``set-threads`` as ``{rule: ...}``, from a mapping or
    ``rule:key=value`` / ``rule=value`` items."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    rules: dict[str, object] = {}
    for item in _items(value, where, "RULE:KEY=VALUE"):
        rule, sep, rest = str(item).partition(":")
        if sep:
            rules.setdefault(rule, {}).update(as_mapping([rest], where))  # type: ignore[union-attr]
        else:
            rule, _, threads = rule.partition("=")
            rules[rule] = scalar(threads)
    return rules


def translate_resources(resources: dict[str, object], key: str, out: Conversion,
                        rule: str | None = None) -> dict[str, object]:
    """The resources kubecall's executor and snakemake read; the others become findings
    (``machine_type`` in default-resources becomes kubecall-node-selector)."""
    kept: dict[str, object] = {}
    where = f"{key}: {rule}" if rule else key
    for name, value in resources.items():
        if name not in OLD_ONLY_RESOURCES:
            kept[name] = value
        elif name == "machine_type" and rule is None:
            out.add("kubecall-node-selector", f"node.kubernetes.io/instance-type={value}",
                    f"From {key}: machine_type={value}, which {PLUGIN_SOURCE} turns into "
                    "this nodeSelector; kubecall has one node selector for all jobs.")
        elif name == "machine_type":
            out.untranslatable(f"{where}: machine_type", "kubecall selects nodes for the "
                               "whole run (kubecall-node-selector), not per rule")
        elif name == "scale":
            out.untranslatable(f"{where}: scale", "kubecall always sets limits (cpu = "
                               "threads, memory = mem_mb), so a job cannot starve its node")
        else:
            out.untranslatable(f"{where}: {name}", f"the old executor made this "
                               f"{OLD_ONLY_RESOURCES[name]}; kubecall jobs request no GPUs "
                               "(freebayes runs on CPUs)")
    return kept
