"""Building blocks of the synthetic cohort: reference, variants and haplotypes, reads."""
