"""The workflow's library: what ``workflow/scripts`` and the rules import (config, sample
sheet, preflight, region plan, calling, merge, QC). Never imports kubernetes or boto3, so a
calling job pays for neither."""
