"""Retention of identity numbers at rest (issue 20 item 3): landing files and quarantine raw rows.

`plan` finds what is due, `apply` makes it so; `tourlink retention run` (dry run unless `--apply`) and
the `tourlink_retention` DAG call `run`. The warehouse's core rows, batches, `batch_file` rows and
quarantine entries stay: every indicator and lineage reference (`_batch_no`, `_file_no`, `_row`, the
quarantine id and history) keeps working; only the readable identity numbers go.
"""

from tourlink.retention.policy import Plan, RetentionResult, plan, run

__all__ = ["Plan", "RetentionResult", "plan", "run"]
