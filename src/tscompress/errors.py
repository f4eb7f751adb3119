"""User-facing errors.

Every error a user can cause with bad input (unknown dataset, missing or corrupt files, unknown
profile or parameter, wrong types) is raised as a :class:`TscompressError` subclass with a message
that fits on one line. The command-line interface prints ``error: <message>`` and exits with a
non-zero status instead of showing a traceback.
"""


class TscompressError(Exception):
    """Base class for errors caused by the user's input or environment, not by a bug."""

    exit_code = 2


class DataError(TscompressError):
    """A dataset cannot be found, downloaded, verified or parsed."""


class ConfigError(TscompressError):
    """An unknown profile, model, chapter or parameter, or a parameter of the wrong type."""


class ChapterError(TscompressError):
    """A chapter notebook failed while executing."""

    exit_code = 1


class BookError(TscompressError):
    """The book could not be built (Sphinx/LaTeX failed, or a page, figure or PDF is missing)."""

    exit_code = 1
