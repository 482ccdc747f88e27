"""Scope parameters in either language: ESPI scope strings or CDS scope ids.

An ESPI scope parameter is one or more ``FB=…;…`` strings joined by ``|`` (seed 000 §3.1); a
CDS one is OAuth scope tokens separated by spaces (RFC 6749 §3.3) naming offered scopes
(``protocols.cds.scopes``). A parameter holds one language; mixing them is refused, because
the two separators would make its meaning ambiguous. Both read into ``DataScope`` values, so
what follows (consent, access, every API) never asks which language a grant was made in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from opencustodian.domain.scopes import DataScope, ScopeError
from opencustodian.protocols.cds.scopes import cds_scope
from opencustodian.protocols.espi.scope import emit_scope, parse_scopes


class ScopeLanguage(StrEnum):
    """How a scope parameter is written."""

    ESPI = "espi"
    CDS = "cds"

    @property
    def separator(self) -> str:
        """What joins several scopes."""
        return "|" if self is ScopeLanguage.ESPI else " "


@dataclass(frozen=True, slots=True)
class ScopeText:
    """A scope parameter read: its canonical items and the data scope each one means."""

    language: ScopeLanguage
    items: tuple[str, ...]
    scopes: tuple[DataScope, ...]

    @property
    def text(self) -> str:
        """The canonical spelling of the whole parameter."""
        return self.language.separator.join(self.items)

    def subset(self, items: tuple[str, ...]) -> ScopeText:
        """The same parameter holding only ``items`` (in this parameter's order)."""
        kept = [(item, scope) for item, scope in zip(self.items, self.scopes, strict=True)]
        chosen = [(item, scope) for item, scope in kept if item in items]
        return ScopeText(
            self.language,
            tuple(item for item, _ in chosen),
            tuple(scope for _, scope in chosen),
        )


def is_cds_text(text: str) -> bool:
    """Whether ``text`` is written as CDS scope tokens (no ESPI ``name=value`` terms)."""
    return bool(text.strip()) and "=" not in text and "|" not in text


def read_scope_text(text: str) -> ScopeText:
    """The scope parameter ``text`` means; ``ScopeError`` names what cannot be read."""
    if is_cds_text(text):
        return _read_cds(text)
    scopes = parse_scopes(text)
    items = tuple(dict.fromkeys(emit_scope(scope) for scope in scopes))
    return ScopeText(ScopeLanguage.ESPI, items, tuple(parse_scopes("|".join(items))))


def _read_cds(text: str) -> ScopeText:
    items = tuple(dict.fromkeys(text.split()))
    scopes = []
    for item in items:
        offered = cds_scope(item)
        if offered is None:
            msg = f"{item!r} is not a scope this custodian offers"
            raise ScopeError(msg)
        scopes.append(offered.data)
    return ScopeText(ScopeLanguage.CDS, items, tuple(scopes))


def grant_scopes(text: str) -> list[DataScope]:
    """The data scopes of a stored grant scope; an unreadable one allows nothing."""
    try:
        return list(read_scope_text(text).scopes)
    except ScopeError:
        return []
