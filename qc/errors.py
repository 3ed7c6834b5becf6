"""The exceptions mixqc raises for problems a user can fix.

Every message names the file and the remedy. The CLI turns a :class:`QCError` into one line on stderr and
exit status 2.
"""

from __future__ import annotations


class QCError(Exception):
    """A problem with the user's input, rules or options (exit status 2)."""


class AudioError(QCError):
    """The audio file cannot be analysed: unreadable, empty, truncated, too many channels, NaN/Inf."""


class RulePackError(QCError):
    """A rule pack or profile file is malformed.

    The message reads ``path:line:column: location: what is wrong``.
    """

    def __init__(
        self, path: str, message: str, *, line: int | None = None, column: int | None = None, key: str = ""
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        text = f"{where}: {key}: {message}" if key else f"{where}: {message}"
        super().__init__(text)


class ProfileError(QCError):
    """An unknown profile or curve was asked for."""


class ReportError(QCError):
    """A report could not be rendered or written."""


class MasterError(QCError):
    """Corrective mastering refused to run, saying how much and where."""
