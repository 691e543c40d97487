"""Render a suggestion as the engine's mapping YAML, with `# confidence` per line and a review list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from devkit.onboarding.suggest import MappingSuggestion


SURE = 0.8  # a suggestion below this is a guess: it gets a REVIEW line


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def render(suggestion: MappingSuggestion, description: str = "", source: str | None = None) -> str:
    """The mapping YAML (engine format) with a `# confidence` comment per line and a review list."""
    lines = [
        "# Suggested by `tourlink connector new` from a sample: review every line below 0.8 and the",
        f"# `unmatched` list, then run `tourlink connector check {source or suggestion.name}`.",
        f"name: {suggestion.name}",
        f"description: {_flow(description or suggestion.name)}",
        "entities:",
    ]
    for e in suggestion.entities.values():
        lines.append(f"  {e.entity}:")
        if e.explode:
            lines.append(f"    explode: {_flow(e.explode)}")
        if e.when:
            lines.append(f"    when: {e.when}")
        if e.distinct:
            lines.append("    distinct: true")
        lines.append("    fields:")
        for s in e.fields.values():
            note = f"  # confidence {s.confidence:.2f} ({s.why})"
            lines.append(f"      {s.field}: {_flow(s.spec())}{note}")
            if s.review:
                lines.append(f"      # REVIEW: {s.review}")
            elif s.confidence < SURE:
                lines.append(f"      # REVIEW: {s.field} ← {s.source} is a guess (confidence {s.confidence:.2f}); confirm or correct it")
    review = [*(f"unmapped source column {c}" for c in suggestion.unmatched),
              *(f"required field without a source: {m}" for m in suggestion.missing),
              *suggestion.review]
    lines.append("unmatched:  # for review: delete this list once every item is decided")
    lines += [f"  - {_flow(item)}" for item in review] or ["  []"]
    if not review:
        lines[-2], lines[-1] = "unmatched: []", ""
    return "\n".join(lines).rstrip() + "\n"
