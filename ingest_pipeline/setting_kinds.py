"""The kinds of value a setting can hold: how its text is read, what is allowed, how it is written back.

A kind's `parse` raises ValueError for text it does not allow; a NotAllowed error may carry a hint
that is appended to the one-line problem (e.g. "did you mean 'postgres'?").
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "on": True, "off": False}
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#-]+$")


class NotAllowed(ValueError):
    def __init__(self, hint: str = "") -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True)
class Kind(Generic[T]):
    name: str
    allowed: str
    parse: Callable[[str], T]
    show: Callable[[T], str] = str


def integer(minimum: int) -> Kind[int]:
    def parse(text: str) -> int:
        value = int(text.strip())
        if value < minimum:
            raise NotAllowed()
        return value

    return Kind(f"integer >= {minimum}", f"a whole number >= {minimum}", parse)


def number(minimum: float, *, above: bool = False, maximum: float | None = None) -> Kind[float]:
    """A finite float >= minimum (> minimum when `above`), optionally <= maximum (fractions: 0..1)."""

    def parse(text: str) -> float:
        value = float(text.strip())
        too_low = value <= minimum if above else value < minimum
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise NotAllowed()
        return value

    bounds = f"{'>' if above else '>='} {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
    return Kind(f"number {bounds}", f"a number {bounds}", parse, lambda value: f"{value:g}")


def _parse_boolean(text: str) -> bool:
    try:
        return BOOLEAN_WORDS[text.strip().lower()]
    except KeyError:
        raise NotAllowed() from None


BOOLEAN: Kind[bool] = Kind(
    "boolean", "one of " + ", ".join(BOOLEAN_WORDS), _parse_boolean, lambda value: "true" if value else "false"
)
TEXT: Kind[str] = Kind("text", "any text", str)
PATH: Kind[str] = Kind("path", "a file system path", str)
GLOBS: Kind[tuple[str, ...]] = Kind(
    "globs",
    "comma-separated glob patterns",
    lambda text: tuple(item.strip() for item in text.split(",") if item.strip()),
    ",".join,
)


_OWNER = re.compile(r"team:[A-Za-z0-9_-]+|[^@\s,]+@[^@\s,]+\.[^@\s,]+")


def _parse_owners(text: str) -> tuple[str, ...]:
    owners = GLOBS.parse(text)
    if not all(_OWNER.fullmatch(owner) for owner in owners):
        raise NotAllowed()
    return owners


# Dagster accepts an asset owner only as an email address or a `team:name`.
OWNERS: Kind[tuple[str, ...]] = Kind(
    "owners", "comma-separated email addresses or team:name entries", _parse_owners, ",".join
)


def pattern(regex: str, allowed: str, name: str = "text") -> Kind[str]:
    compiled = re.compile(regex)

    def parse(text: str) -> str:
        if not compiled.fullmatch(text.strip()):
            raise NotAllowed()
        return text.strip()

    return Kind(name, allowed, parse)


def choice(options: Callable[[], Sequence[str]], allowed: str) -> Kind[str]:
    """One of `options()` (computed when first checked, so the library behind them loads lazily)."""

    def parse(text: str) -> str:
        value = text.strip()
        known = options()
        if value not in known:
            close = difflib.get_close_matches(value.lower(), [o for o in known if o], n=1)
            raise NotAllowed(f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(o for o in known if o))
        return value

    return Kind("choice", allowed, parse)


def _parse_cron(text: str) -> str:
    value = " ".join(text.split())
    fields = value.split(" ")
    if value in CRON_ALIASES or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)):
        return value
    raise NotAllowed()


CRON: Kind[str] = Kind("cron", "a cron expression of five fields such as '0 2 * * *', or " + "/".join(CRON_ALIASES), _parse_cron)
