"""One exception base; subclasses also inherit the builtin they refine.

The CLI turns any :class:`EffbenchError` into one line on stderr and exit code 2.
Messages name what was wrong, what is allowed, and what was given.
"""


class EffbenchError(Exception):
    """Base of every error effbench raises on purpose."""


class ConfigError(EffbenchError, ValueError):
    """A setting or argument is invalid (names the field, what is allowed, what was given)."""


class DataError(EffbenchError, ValueError):
    """Input data (a CSV table, a timings file, samples) cannot be used as given."""


class StoreError(EffbenchError, RuntimeError):
    """The result database cannot be read or written (foreign file, newer schema, ...)."""


class UnknownRunError(EffbenchError, LookupError):
    """A run id that is not in the store."""


class CandidateError(EffbenchError, RuntimeError):
    """A candidate failed to build, load or run."""
