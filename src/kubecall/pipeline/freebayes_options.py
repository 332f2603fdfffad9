"""freebayes 1.3.6's command line, parsed the way its ``getopt_long`` reads it.

``calling.extra`` is appended to the command the workflow builds, so a word there can change
what is read, where records go, which regions are called or what format comes out. The table
below is freebayes v1.3.6 ``src/Parameters.cpp`` (``long_options`` and the short-option string);
the parser follows GNU ``getopt_long``: long options by exact name or unique prefix,
``--opt=value`` or ``--opt value``, short options bundled (``-jX``) with an attached value
(``-vFILE``), arguments permuted (a word without a dash anywhere is an extra BAM), ``--`` ends
the options.
"""

from __future__ import annotations

from dataclasses import dataclass

# getopt_long's short-option string in freebayes 1.3.6 ("x:" takes a value).
SHORT_OPTIONS = (
    "hcO4ZKjH[0diN5a)Ik=wl6#uVXJY:b:G:M:x:@:A:f:t:r:s:v:n:B:p:m:q:R:Q:U:$:e:T:P:D:^:S:W:F:C:"
    "&:L:8z:1:3:E:7:2:9:%:_:,:(:!:+:g:"
)

# long name -> (takes a value, the option character it stands for), in freebayes' order.
LONG_OPTIONS: dict[str, tuple[bool, str]] = {
    "help": (False, "h"), "version": (False, "#"), "bam": (True, "b"),
    "bam-list": (True, "L"), "stdin": (False, "c"), "fasta-reference": (True, "f"),
    "targets": (True, "t"), "region": (True, "r"), "samples": (True, "s"),
    "populations": (True, "2"), "cnv-map": (True, "A"), "vcf": (True, "v"),
    "gvcf": (False, "8"), "gvcf-chunk": (True, "&"), "gvcf-dont-use-chunk": (True, "&"),
    "use-duplicate-reads": (False, "4"), "no-partial-observations": (False, "["),
    "use-best-n-alleles": (True, "n"), "use-reference-allele": (False, "Z"),
    "harmonic-indel-quality": (False, "H"), "standard-filters": (False, "0"),
    "reference-quality": (True, "1"), "ploidy": (True, "p"), "pooled-discrete": (False, "J"),
    "pooled-continuous": (False, "K"), "no-population-priors": (False, "k"),
    "use-mapping-quality": (False, "j"), "min-mapping-quality": (True, "m"),
    "min-base-quality": (True, "q"), "min-supporting-allele-qsum": (True, "R"),
    "min-supporting-mapping-qsum": (True, "Y"),
    "mismatch-base-quality-threshold": (True, "Q"), "read-mismatch-limit": (True, "U"),
    "read-max-mismatch-fraction": (True, "z"), "read-snp-limit": (True, "$"),
    "read-indel-limit": (True, "e"), "throw-away-indel-obs": (False, "i"),
    "dont-left-align-indels": (False, "O"), "throw-away-mnps-obs": (False, "X"),
    "throw-away-complex-obs": (False, "u"), "max-complex-gap": (True, "E"),
    "haplotype-length": (True, "E"), "min-repeat-size": (True, "E"),
    "min-repeat-entropy": (True, "E"), "throw-away-snp-obs": (False, "I"),
    "indel-exclusion-window": (True, "x"), "theta": (True, "T"), "pvar": (True, "P"),
    "strict-vcf": (False, "/"), "read-dependence-factor": (True, "D"),
    "binomial-obs-priors-off": (False, "V"), "allele-balance-priors-off": (False, "a"),
    "hwe-priors-off": (False, "w"), "posterior-integration-limits": (True, "W"),
    "min-alternate-fraction": (True, "F"), "min-alternate-count": (True, "C"),
    "observation-bias": (True, "%"), "min-alternate-total": (True, "G"),
    "min-alternate-qsum": (True, "3"), "min-coverage": (True, "!"),
    "limit-coverage": (True, "+"), "skip-coverage": (True, "g"),
    "trim-complex-tail": (False, "]"), "genotype-qualities": (False, "="),
    "variant-input": (True, "@"), "only-use-input-alleles": (False, "l"),
    "exclude-unobserved-genotypes": (False, "N"), "genotype-variant-threshold": (True, "S"),
    "site-selection-max-iterations": (True, "M"), "genotyping-max-iterations": (True, "B"),
    "genotyping-max-banddepth": (True, "7"), "haplotype-basis-alleles": (True, "9"),
    "report-genotype-likelihood-max": (False, "5"), "report-all-haplotype-alleles": (False, "6"),
    "base-quality-cap": (True, "("), "legacy-gls": (False, ")"),
    "prob-contamination": (True, "_"), "contamination-estimates": (True, ","),
    "report-monomorphic": (False, "6"), "debug": (False, "d"),
}

_WORKFLOW = "the workflow sets it from 'reference', 'samples' and 'regions'"
_UNTRACKED = ("it reads a file the workflow does not track (no rerun when it changes, not "
              "checked by preflight)")

# Option character -> why calling.extra may not carry it.
REFUSED: dict[str, str] = {
    "f": f"it sets the reference; {_WORKFLOW}",
    "b": f"it adds alignments; {_WORKFLOW}",
    "L": f"it adds alignments; {_WORKFLOW}",
    "c": f"it reads alignments from standard input; {_WORKFLOW}",
    "s": "it limits the samples; choose them with 'cohort.select' instead",
    "t": f"it sets the regions; {_WORKFLOW}",
    "r": f"it sets the regions; {_WORKFLOW}",
    "v": "it redirects the records away from the workflow, which writes the call set itself",
    "8": "it turns the call set into a gVCF, which the merge and the statistics do not expect",
    "&": "it shapes gVCF output, which the workflow does not produce",
    "#": "it prints the version instead of calling",
    "h": "it prints the help instead of calling",
    "2": _UNTRACKED,
    "A": _UNTRACKED,
    "@": _UNTRACKED,
    "9": _UNTRACKED,
    ",": _UNTRACKED,
    "^": "freebayes 1.3.6 accepts it but has no handler and aborts",
}


@dataclass(frozen=True)
class Option:
    """One option as getopt_long reads it: its word, its full name, character and value."""

    word: str
    name: str
    char: str
    value: str | None


def _short_takes_value(char: str) -> bool | None:
    """Whether a short option takes a value; None when freebayes has no such option."""
    at = SHORT_OPTIONS.find(char)
    if at < 0 or char == ":":
        return None
    return SHORT_OPTIONS[at + 1 : at + 2] == ":"


def _long_option(name: str) -> tuple[str, bool, str]:
    """Resolve a long name by exact match or unique prefix, as getopt_long does."""
    if name in LONG_OPTIONS:
        return (name, *LONG_OPTIONS[name])
    matches = [full for full in LONG_OPTIONS if full.startswith(name)]
    # getopt_long accepts a prefix of several names that all mean the same option
    if matches and len({LONG_OPTIONS[full] for full in matches}) == 1:
        return (matches[0], *LONG_OPTIONS[matches[0]])
    if matches:
        raise ValueError(f"is ambiguous (--{', --'.join(matches)}); spell the option out")
    raise ValueError("is not a freebayes 1.3.6 option (see 'freebayes --help')")


def parse_options(args: list[str]) -> list[Option]:
    """Read ``args`` like freebayes' getopt_long; ValueError names the word and the problem."""
    options: list[Option] = []
    at = 0
    while at < len(args):
        word = args[at]
        at += 1
        if word == "--" or not word.startswith("-") or word == "-":
            raise ValueError(f"{word!r} is not an option: freebayes reads every word without "
                             f"a dash (and every word after '--') as another BAM file")
        if word.startswith("--"):
            name, has_value, value = word[2:].partition("=")
            try:
                full, takes, char = _long_option(name)
            except ValueError as exc:
                raise ValueError(f"'--{name}' {exc}") from None
            if takes and not has_value:
                if at == len(args):
                    raise ValueError(f"'--{full}' needs a value")
                value, at = args[at], at + 1
            elif has_value and not takes:
                raise ValueError(f"'--{full}' takes no value (given {word!r})")
            options.append(Option(word, f"--{full}", char, value if takes else None))
            continue
        for offset, char in enumerate(word[1:], 1):
            takes_value = _short_takes_value(char)
            if takes_value is None:
                raise ValueError(f"'-{char}' (in {word!r}) is not a freebayes 1.3.6 option")
            if not takes_value:
                options.append(Option(word, f"-{char}", char, None))
                continue
            value = word[offset + 1 :]
            if not value:
                if at == len(args):
                    raise ValueError(f"'-{char}' needs a value")
                value, at = args[at], at + 1
            options.append(Option(word, f"-{char}", char, value))
            break
    return options


def refusal(option: Option) -> str | None:
    """Why ``calling.extra`` may not carry this option, or None when it may."""
    return REFUSED.get(option.char)
