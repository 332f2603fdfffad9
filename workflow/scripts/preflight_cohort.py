"""Adapter: preflight every selected alignment, write the cohort manifest and report."""

import argparse
from pathlib import Path

from kubecall.pipeline.cohort import callsets, load_cohort
from kubecall.pipeline.preflight import (
    run_preflight,
    write_callset_manifests,
    write_manifest,
    write_report,
    write_sample_names,
)
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import json_option, run_step, step_parser


def main(args: argparse.Namespace) -> None:
    # The same selection and call sets as at workflow load (common.smk), so both agree.
    samples = load_cohort(args.sheet, args.schema, args.cohort)
    outcome = run_preflight(
        samples,
        args.reference,
        read_fai(args.fai),
        cache=args.cache,
        threads=args.threads,
        iupac=args.iupac,
    )
    write_manifest(outcome.infos, args.manifest)
    write_sample_names(outcome.infos, args.samples)
    write_report(outcome.infos, args.report)
    write_callset_manifests(outcome.infos, callsets(samples, args.mode, args.group_by),
                            args.report.parent / "callsets")


parser = step_parser(__doc__, paths=("sheet", "schema", "reference", "fai", "manifest", "samples",
                                     "report"))
parser.add_argument("--cohort", type=json_option, required=True, help="config cohort, as JSON")
parser.add_argument("--mode", required=True, help="config calling.mode")
parser.add_argument("--group-by", required=True, help="config calling.group_by")
parser.add_argument("--cache", type=Path, help="the header cache (none: no cache)")
parser.add_argument("--iupac", required=True, help="config reference_iupac")
run_step(parser, main)
