"""Load a small YAML data file (platform targets, album rules) into a pydantic model, with one error form.

Errors are :class:`~qc.errors.RulePackError` naming the file, the key and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import RulePackError

Model = TypeVar("Model", bound=BaseModel)


def load_data_file(path: str | Path, model: type[Model], what: str) -> Model:
    """Read ``path`` as YAML and validate it as ``model``; ``what`` names the content in errors.

    Raises
    ------
    RulePackError
        ``path: cannot read the <what>: ...`` for unreadable YAML, or ``path: key: message`` for the first
        validation error.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulePackError(str(path), f"cannot read the {what}: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise RulePackError(str(path), error["msg"].removeprefix("Value error, "), key=key) from None
