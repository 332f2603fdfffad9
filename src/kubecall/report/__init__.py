"""The run report (``results/report.html``): one self-contained HTML page.

Split by concern: :mod:`.bcftools_stats` parses ``bcftools stats``, :mod:`.vcf_summary`
reads the call set, :mod:`.data` gathers a run directory's facts into :class:`.data.ReportData`,
:mod:`.plots` makes the figures (SVG charts, :mod:`.svg`) from it and :mod:`.render`
renders the page.
"""
