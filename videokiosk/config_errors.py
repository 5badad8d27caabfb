"""One wording for config mistakes, shared by the booth's and the hub's config files.

Example::

    >>> from pydantic import BaseModel, ConfigDict, ValidationError
    >>> class Section(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     port: int
    >>> try:
    ...     Section.model_validate({"prot": 80})
    ... except ValidationError as err:
    ...     print(describe_validation_error("hub.toml", err))
    hub.toml: invalid configuration
      port: missing; this key is required
      prot = 80: unknown key (a typo?)
"""

from __future__ import annotations

from pydantic import ValidationError

from .logs import redact


def describe_validation_error(source: str, err: ValidationError) -> str:
    """One line per problem: file, dotted key, the value given, and what is allowed."""
    lines = [f"{source}: invalid configuration"]
    for problem in err.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "missing":
            lines.append(f"  {key}: missing; this key is required")
        elif problem["type"] == "extra_forbidden":
            lines.append(f"  {key} = {problem['input']!r}: unknown key (a typo?)")
        else:
            lines.append(f"  {key} = {redact(repr(problem['input']))}: {problem['msg']}")
    return "\n".join(lines)
