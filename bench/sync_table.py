"""The sync table: per emulator cell (dialect × latency), fetch alone, tourlink's sync and dlt's
rest_api, with the ratios taken within each run (`protocol.summarise`)."""

from __future__ import annotations

from protocol import Spread, fmt_spread, markdown, summarise


def _inverse(s: Spread | None) -> Spread | None:
    return None if s is None else Spread(1 / s.median, 1 / s.high, 1 / s.low)


def report(per_run: list[list[dict]], emulators: list, *, cores: int, load: str, load_end: str, rate: float) -> str:
    head = ["cell", "contender", "groups", "records", "requests", "total s", "ms / request", "× its fetch time",
            "× one at a time", "× dlt's speed", "peak MB", "note"]  # fmt: skip
    single = len(per_run) == 1
    body: list[list[str]] = []
    for em in emulators:
        prefix = f"{em.cell}: "
        rows = [[r for r in run if r["name"].startswith(prefix)] for run in per_run]
        refs = {"fetch": prefix + "fetch alone", "seq": prefix + "sync, one request at a time", "dlt": prefix + "dlt rest_api"}
        for s in summarise(rows, refs):
            contender = s.name.removeprefix(prefix)
            if s.seconds is None:
                body.append(
                    [em.cell, contender, f"{em.groups:,}", *["-"] * 8, "FAILED: " + (s.errors or ["?"])[0][:80]]
                )
                continue
            requests = s.extra.get("requests")
            per_request = f"{s.seconds.median * 1000 / requests.median:.0f}" if requests and requests.median else "-"
            body.append([
                em.cell, contender, f"{em.groups:,}", fmt_spread(s.extra.get("records"), "{:,.0f}", single=True),
                fmt_spread(requests, "{:,.0f}", single=True), fmt_spread(s.seconds, single=single), per_request,
                "" if contender == "fetch alone" else fmt_spread(_inverse(s.ratios.get("fetch")), "{:.2f}", single=single),
                fmt_spread(s.ratios.get("seq"), "{:.2f}", single=single) if contender == "tourlink sync" else "",
                fmt_spread(s.ratios.get("dlt"), "{:.2f}", single=single), f"{s.maxrss_kb / 1024:,.0f}",
                s.note + (f"FAILED in {len(s.errors)} run(s): {s.errors[0][:60]}" if s.errors else ""),
            ])  # fmt: skip
    lines = markdown(head, body)
    lines += [
        "",
        f"Machine: {cores} cores shared with other jobs (load average {load} at the start, {load_end} at the end). "
        f"{len(per_run)} run(s); each runs every contender of every cell, each in its own process after a CHECKPOINT; "
        "medians, (min–max) in brackets; ratios taken within each run. Each emulator runs in its own process with "
        "the latency added to every response; requests = what the emulator served to that contender (its own "
        f"count); the oauth-cursor emulator allows {rate:g} requests/s. records: tourlink = rows loaded over all "
        "entities; dlt = rows normalized into its tables (nested lists as child tables); fetch = source rows "
        "decoded. × its fetch time: the contender's seconds ÷ fetch alone's (the sync's own cost); × dlt's speed: "
        "dlt's seconds ÷ the contender's; × one at a time: the same sync with one request at a time (`max_concurrency: 1`), its "
        "seconds ÷ the sync's. tourlink validates every row (quarantine, findings) and merges by natural "
        "key with its state in one transaction; dlt loads the vendor's records as they are (merge on the vendor's key).",
    ]
    return "\n".join(lines)
