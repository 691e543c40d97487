"""The rule catalogue (`catalogue.yaml`): severity, Chinese name and fix hint of every rule id.

Messages stewards read are templates here, so the wording lives in one reviewed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tourlink.schema import read_yaml

CATALOGUE_PATH = Path(__file__).parent / "catalogue.yaml"
SEVERITIES = {"ERROR", "WARN"}


@dataclass(frozen=True)
class RuleInfo:
    rule: str
    severity: str
    name_zh: str
    hint_zh: str
    description: str
    stage: str = "row"
    message: str | None = None  # template: {header} {label} {parent} {doc} {other}
    variants: dict[str, str] | None = None  # other message templates of the same rule, by case


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@cache
def catalogue() -> dict[str, RuleInfo]:
    """Every rule id with its severity, Chinese name and hint (also mapping's and cross-checks')."""
    raw = read_yaml(CATALOGUE_PATH)
    rules = {}
    for rule, spec in raw.items():
        if spec["severity"] not in SEVERITIES:
            raise ValueError(f"{rule}: severity must be ERROR or WARN")
        rules[rule] = RuleInfo(rule=rule, **spec)
    return rules


def rule_info(rule: str) -> RuleInfo:
    try:
        return catalogue()[rule]
    except KeyError:
        raise KeyError(f"rule {rule!r} is not in validators/catalogue.yaml") from None


def message(rule: str, variant: str | None = None, **parts: str) -> str:
    """The steward's message of `rule`, with the field header and other names filled in."""
    info = rule_info(rule)
    template = info.message or f"{{header}}{info.name_zh}，{info.hint_zh}"
    if variant is not None:
        template = (info.variants or {})[variant]
    return template.format_map(_Blank(parts))
