"""Validators: the rules of SPEC sections 3 and 4 on mapped frames (see docs/architecture.md).

    validate(entity, df, today=...)          row rules, appended to `_issues`
    validate_batch(frames, existing_keys=..., today=...)   row rules, then the batch rules
    split(df) -> (good, bad)                 bad = any ERROR issue
    catalogue() -> {rule: RuleInfo}          severity, Chinese name and hint of every rule id
"""

from validators.batch import validate_batch
from validators.catalogue import RuleInfo, catalogue
from validators.rules import split, validate

__all__ = ["RuleInfo", "catalogue", "split", "validate", "validate_batch"]
