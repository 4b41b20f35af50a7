"""The project's error types: bad input is reported by message, never by traceback."""

from __future__ import annotations


class MrsynthError(Exception):
    """Base for every error the CLI reports as `mrsynth: <message>` with exit code 1."""


class SpecError(MrsynthError):
    """A spec failed to load or validate; carries every problem found, each with file and JSON path."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class DataError(MrsynthError):
    """An input volume, mask or table is unusable; the message names the subject and the file."""

    def __init__(self, message: str, subject: str | None = None, path: str | None = None):
        self.subject = subject
        self.path = path
        parts = [p for p in (f"subject {subject}" if subject else None, str(path) if path else None) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)
