"""Base for every config section: unknown keys are rejected, every field has a default, and no
number can be NaN or infinite (`sleep_s = inf` would switch the sleep alarm off)."""

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

PATH_MAX = 4095  # Linux PATH_MAX (4096) less the terminating NUL


def _empty_is_default(v):
    """`key = ""` means "use the default" (as the generated file documents), never the working
    directory, which is `/` under systemd."""
    return None if isinstance(v, str) and not v.strip() else v


def _os_path(p: Path) -> Path:
    s = str(p)
    if "\0" in s:
        raise ValueError("a path cannot contain a NUL byte")
    if len(s.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise ValueError(f"path longer than the system's limit of {PATH_MAX} bytes")
    return p


# A file or directory setting: empty = the documented default, NUL and over-long paths rejected.
OptionalPath = Annotated[Path | None, BeforeValidator(_empty_is_default), AfterValidator(
    lambda p: None if p is None else _os_path(p))]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)
