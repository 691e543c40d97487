"""How many of a hand-written mapping's fields a suggestion got right (the onboarding acceptance measure).

"The fields a person would map" are the hand-written mapping's fields that read a source column
(constants are not suggestions). A suggestion is right for a field when it reads the same column;
directives (formats, maps) are checked by `connector check`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.onboarding.suggest import MappingSuggestion


@dataclass
class Agreement:
    right: int
    total: int
    wrong: list[str] = field(default_factory=list)  # "entity.field: suggested X, hand-written Y"

    @property
    def ratio(self) -> float:
        return self.right / self.total if self.total else 1.0


def agreement(suggestion: MappingSuggestion, truth: str) -> Agreement:
    """Compare with the hand-written mapping `truth` (a name such as `signed_json`, or a path)."""
    from mappings.engine import load_mapping

    mapping = load_mapping(truth)
    result = Agreement(0, 0)
    for entity, rule in mapping.rules.items():
        for name, frule in rule.fields.items():
            if frule.source is None:
                continue
            result.total += 1
            got = suggestion.source_of(entity, name)
            if got == frule.source:
                result.right += 1
            else:
                result.wrong.append(f"{entity}.{name}: suggested {got}, hand-written {frule.source}")
    return result


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
