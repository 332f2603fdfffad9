"""The cluster side: the one kubernetes-client wrapper (``kube``), the manifests, and the
``bootstrap``, ``credentials``, ``stage``, ``launch``, ``status``, ``logs`` and ``teardown``
commands."""
