"""The audit log (issue 20): who did what, when, from where, to which scope.

Every channel writes it through `record`: the web view (logins, page views, downloads, waives), the
CLI (reports, exports, waives, replays, publishes, retention runs) and Airflow tasks. Rows are
append-only and chained by hash (`tourlink.audit.chain`), `tourlink audit` reads and verifies them.
"""

from tourlink.audit.chain import ChainBreak, verify
from tourlink.audit.log import Event, query, record

__all__ = ["ChainBreak", "Event", "query", "record", "verify"]
