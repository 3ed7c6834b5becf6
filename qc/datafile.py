"""Load a small YAML data file (platform targets, album rules) into a pydantic model, with one error form.

Errors are :class:`~qc.errors.RulePackError` naming the file, the key and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from . import safeyaml
from .errors import RulePackError

Model = TypeVar("Model", bound=BaseModel)


def load_data_file(path: str | Path, model: type[Model], what: str) -> Model:
    """Read ``path`` as YAML and validate it as ``model``; ``what`` names the content in errors.

    Raises
    ------
    RulePackError
        ``path: cannot read the <what> (...)`` for an unreadable, oversized or non-regular file,
        ``path:line:column: ...`` for bad or refused YAML (see :mod:`qc.safeyaml`), or
        ``path: key: message`` for the first validation error.
    """
    try:
        data = safeyaml.safe_load(safeyaml.read_text(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise RulePackError(str(path), f"cannot read the {what} ({reason or exc})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        if not isinstance(exc, safeyaml.RefusedYAML):
            problem = f"YAML syntax error in the {what}: {problem}"
        raise RulePackError(
            str(path),
            problem,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise RulePackError(str(path), f"cannot read the {what}: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise RulePackError(str(path), error["msg"].removeprefix("Value error, "), key=key) from None
