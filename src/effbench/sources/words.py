"""Wording shared by the sources' messages."""

from __future__ import annotations

import difflib


def did_you_mean(name, options) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``options`` (case aside), or ``""`` when none is close."""
    by_lower = {str(o).lower(): o for o in options}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def shown(value, most: int = 80) -> str:
    """A value as a message shows it: its repr, cut to ``most`` characters."""
    text = repr(value)
    return text if len(text) <= most else text[:most - 3] + "..."
