"""How many of a hand-written mapping's fields a suggestion got right (the onboarding acceptance measure).

"The fields a person would map" are the hand-written mapping's fields that read a source column
(constants are not suggestions). A suggestion is right for a field when it reads the same column;
directives (formats, maps) are checked by `connector check`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devkit.onboarding.suggest import MappingSuggestion


@dataclass
class Agreement:
    right: int
    total: int
    wrong: list[str] = field(default_factory=list)  # "entity.field: suggested X, hand-written Y"
    # right column, but a directive that would load a different value than the hand-written one
    # (a code mapped elsewhere, another split/format/scale) and no review line saying so
    conflicts: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.right / self.total if self.total else 1.0


def agreement(suggestion: MappingSuggestion, truth: str, *, added_by_connector: tuple[str, ...] = ()) -> Agreement:
    """Compare with the hand-written mapping `truth` (a name such as `signed_json`, or a path).

    `added_by_connector`: columns the connector computes before mapping (not in any vendor sample)."""
    from mappings.engine import load_mapping

    mapping = load_mapping(truth)
    result = Agreement(0, 0)
    for entity, rule in mapping.rules.items():
        for name, frule in rule.fields.items():
            if frule.source is None or frule.source in added_by_connector:
                continue
            result.total += 1
            got = suggestion.source_of(entity, name)
            if got == frule.source:
                result.right += 1
                conflict = _directive_conflict(suggestion.entities[entity].fields[name], frule)
                if conflict:
                    result.conflicts.append(f"{entity}.{name}: {conflict}")
            else:
                result.wrong.append(f"{entity}.{name}: suggested {got}, hand-written {frule.source}")
    return result


# formats the engine parses without a `format` (SPEC section 1): leaving them out is not an error
_DEFAULT_FORMATS = {"%Y-%m-%d", "%Y-%m-%d %H:%M:%S"}


def _directive_conflict(suggested: Any, truth: Any) -> str | None:
    """Why the suggested line would load another value than the hand-written one (None: same)."""
    directives = suggested.directives
    for code, value in (directives.get("map") or {}).items():
        if truth.map and str(code) in truth.map and truth.map[str(code)] != value:
            return f"code {code} mapped to {value}, hand-written {truth.map[str(code)]}"
    split = directives.get("split")
    split = (split,) if isinstance(split, str) else tuple(split) if split else None
    if split != truth.split:
        return f"split {split}, hand-written {truth.split}"
    if directives.get("format") != truth.format and not (directives.get("format") is None and truth.format in _DEFAULT_FORMATS):
        return f"format {directives.get('format')}, hand-written {truth.format}"
    if directives.get("scale") != truth.scale and not suggested.review:
        return f"scale {directives.get('scale')} without a review line, hand-written {truth.scale}"
    return None


def vendor_names(truth: str) -> set[str]:
    """The hand-written mapping's source names and mapped codes: what `held_out` hides."""
    from mappings.engine import load_mapping

    names: set[str] = set()
    for rule in load_mapping(truth).rules.values():
        for frule in rule.fields.values():
            if frule.source:
                names |= set(frule.source.split("."))
            names |= set(frule.map or {})
    return names
