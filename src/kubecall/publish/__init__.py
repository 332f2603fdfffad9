"""Publishing a run to S3 (MinIO): the one boto3 wrapper (``s3``), uploads, the run manifest
and ``_SUCCESS``, verification, and the ``publish``/``verify`` commands. The package itself
imports nothing, so ``kubecall.publish.manifest`` costs no boto3."""
