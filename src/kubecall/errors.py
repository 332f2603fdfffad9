"""The one exception type for problems the user can fix."""


class KubecallError(Exception):
    """A user error: bad input, configuration or environment.

    The message names the file, field or region at fault and says what to do;
    the CLI prints it as ``error: <message>`` and exits non-zero.
    """
