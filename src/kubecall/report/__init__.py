"""The run report (``results/report.html``): one self-contained HTML page.

Split by concern: :mod:`.bcftools_stats` parses ``bcftools stats``, :mod:`.vcf_summary`
reads the call set, :mod:`.data` gathers a run directory's facts into :class:`.data.ReportData`,
:mod:`.plots` draws matplotlib figures from it and :mod:`.html` renders the page.
"""
