"""Finding 9 (issue 15): `kubecall launch` runs `snakemake --profile profiles/kubernetes`
without `--workflow-profile none`, so snakemake also applies profiles/default (the workflow
profile, found next to the Snakefile) on top; it must not change any kubernetes setting."""

from __future__ import annotations

import pytest
import yaml

from kubecall.cluster.driver_job import DriverSpec
from tests.conftest import REPO


def profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


def test_the_workflow_profile_agrees_with_the_kubernetes_profile() -> None:
    command = DriverSpec("r1", "kubecall", "config/config.yaml",
                         "profiles/kubernetes").command()
    assert "--workflow-profile" not in command  # so profiles/default applies too
    default, kubernetes = profile("default"), profile("kubernetes")
    assert default, "profiles/default is empty"
    conflicts = {key: (value, kubernetes[key]) for key, value in default.items()
                 if key in kubernetes and kubernetes[key] != value}
    assert conflicts == {}
    # What the NFS workspace and the cluster need stays the kubernetes profile's.
    assert not {"latency-wait", "cores", "jobs", "executor"} & set(default)


@pytest.mark.parametrize("name", ["local", "slurm", "kubernetes"])
def test_every_profile_selects_jobs_greedily(name: str) -> None:
    # snakemake's default ILP selection solves a problem over every ready job each time a
    # job ends: with thousands of ready jobs it was most of the driver's CPU, and locally one
    # solver process per job (issue 18). profiles/default says so beneath every profile.
    from snakemake.cli import parse_args

    _, args = parse_args(["--profile", str(REPO / "profiles" / name),
                          "--workflow-profile", str(REPO / "profiles" / "default")])
    assert args.scheduler == "greedy"


def test_targets_after_the_config_file_stay_targets() -> None:
    # `kubecall launch -- all` passes targets after the config file; snakemake's --configfile
    # takes one or more values, so a bare "--configfile X" would swallow them as config files.
    from snakemake.cli import parse_args

    command = DriverSpec("r1", "kubecall", "config/config.yaml", "profiles/kubernetes",
                         extra_args=("all", "regions", "--jobs", "7")).command()
    _, args = parse_args(command[1:] + ["--workflow-profile", "none"])
    assert [str(f) for f in args.configfile] == ["config/config.yaml"]
    assert args.targets == ["all", "regions"]
    assert args.jobs == 7
