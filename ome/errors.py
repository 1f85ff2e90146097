"""Errors shared across the control plane."""


class StartupError(Exception):
    """A fatal start-up problem: the process logs it and exits non-zero
    (port in use, empty AccessToken, storage that cannot be honoured, ...)."""
