"""The end-of-file markers of complete BGZF (BAM, bgzipped VCF) and CRAM 3 files.

A module of their own so that calling jobs, which only need BGZF_EOF, do not import
preflight and its dependencies (jsonschema, the sample sheet) on every start.
"""

# The empty BGZF block that ends every complete BAM (SAM spec 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# The EOF container that ends every complete CRAM 3.x file (CRAM spec 9).
CRAM3_EOF = bytes.fromhex(
    "0f000000ffffffff0fe0454f46000000000100 05bdd94f0001000606010001000100ee63014b".replace(" ", "")
)
