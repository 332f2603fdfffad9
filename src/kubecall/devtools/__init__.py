"""Tools for tests and benchmarks: the synthetic cohort (``simulate``), accuracy against a
truth set and concordance between call sets."""
