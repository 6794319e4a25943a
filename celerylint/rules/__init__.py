"""The rule registry: every `Rule` subclass in this package, by code."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from celerylint.rules.base import Rule


@lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    for info in pkgutil.iter_modules(__path__):
        if info.name not in ("base", "fixing"):  # the rest are rule modules
            importlib.import_module(f"{__name__}.{info.name}")
    found = {cls.code: cls for cls in _subclasses(Rule) if getattr(cls, "code", None)}
    return tuple(found[code] for code in sorted(found, key=_code_key))


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


_FAMILY_ORDER = {"TSK": 0, "BEAT": 1, "TEN": 2, "SYN": 3, "SUP": 4}


def _code_key(code: str) -> tuple:
    family = code.rstrip("0123456789")
    return (_FAMILY_ORDER.get(family, 9), code)


def rule_by_code(code: str) -> type[Rule] | None:
    for cls in all_rules():
        if cls.code == code.upper():
            return cls
    return None


def is_code_selector(selector: str) -> bool:
    """A full code, a prefix of one (`TEN`, `BEAT00`), or `ALL`."""
    selector = selector.upper()
    return selector == "ALL" or any(cls.code.startswith(selector) for cls in all_rules())


def selected_codes(select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...]) -> frozenset[str]:
    """ruff's semantics: `select` replaces the default set (the rules that are on by
    default), `extend-select` adds to it, `ignore` removes from it, and when a select
    and an ignore both match a code the more specific one wins. An opt-in rule is only
    turned on by its full code, never by a prefix or `ALL`."""
    codes = set()
    for cls in all_rules():
        chosen = _best_match(cls.code, select + extend_select, exact_only=cls.opt_in)
        on = chosen is not None if select else (not cls.opt_in or chosen is not None)
        ignored = _best_match(cls.code, ignore, exact_only=False)
        if on and ignored is not None and (chosen is None or _specificity(ignored) >= _specificity(chosen)):
            on = False
        if on:
            codes.add(cls.code)
    return frozenset(codes)


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


def _best_match(code: str, selectors: tuple[str, ...], exact_only: bool) -> str | None:
    best = None
    for sel in selectors:
        sel = sel.upper()
        if exact_only and sel != code:
            continue
        if sel == "ALL" or code.startswith(sel):
            if best is None or _specificity(sel) > _specificity(best):
                best = sel
    return best
