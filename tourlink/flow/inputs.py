"""The inputs of one batch: each raw input's frames with the mapping that turns them into entities.

A file is opened by reading its first chunk: its header row picks its mapping (`file_inputs`), before
any of its rows is staged. That is what lets a batch stage its inputs parents first (`parents_first`):
the shell lists `contract_tourist.csv` before `e_contract.csv`, and a batch is one transaction whose
result must not depend on that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tourlink import schema
from tourlink.frames import SourceFrame

# A file's first chunk is mapped and validated in two parts, the first a quarter of a chunk: a streamed
# batch's writer (whose database work is the longer half of a load) starts that much earlier.
FIRST_PART_SHARE = 4


class UnreadableInput(Exception):
    """A raw input cannot be read at all: the batch loads nothing."""

    def __init__(self, file: str, reason: str, reason_zh: str | None = None):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
        self.reason_zh = reason_zh or reason


@dataclass
class Input:
    """Frames of one raw input with the mapping that turns them into canonical entities."""

    mapping: Any
    frames: Iterator[SourceFrame]
    name: str | None = None  # the file's name as a steward knows it
    path: Path | None = None  # kept in the landing folder at commit
    sheet: str | None = None  # the workbook sheet these frames come from
    # Per workbook (on its first input): every sheet, read or skipped, with the reason (Chinese).
    sheets: list[dict[str, Any]] = field(default_factory=list)


def _open(path: Path, name: str, chunk_rows: int, sheet: str | None = None) -> Iterator[SourceFrame]:
    """The reader's frames of `path` (for a workbook a `WorkbookFrames`, which names its sheets)."""
    from connectors.files import UnreadableFile, read_source
    from mappings.engine import known_headers

    try:
        return read_source(path, known_headers=known_headers(), chunk_rows=chunk_rows, sheet=sheet)
    except UnreadableFile as exc:
        raise UnreadableInput(name, exc.reason, exc.reason_zh) from exc


def _read(frames: Iterator[SourceFrame], name: str) -> Iterator[SourceFrame]:
    from connectors.files import UnreadableFile

    try:
        for frame in frames:
            frame.file = name
            # No generator of the chain holds the chunk it handed on (peak memory): it dies as soon
            # as the stage that maps and validates it drops it, not when the next chunk is read.
            handed = [frame]
            del frame
            yield handed.pop()
    except UnreadableFile as exc:
        raise UnreadableInput(name, exc.reason, exc.reason_zh) from exc


def _per_sheet(path: Path, name: str, chunk_rows: int) -> tuple[list[Iterator[SourceFrame]], list[dict[str, Any]]]:
    """The frames of each input of one file: one per matching sheet of a workbook (each gets its own
    mapping), else the file's; and the workbook's sheets, read or skipped with the reason."""
    from connectors.files import WorkbookFrames

    frames = _open(path, name, chunk_rows)
    if not isinstance(frames, WorkbookFrames):
        return [_read(frames, name)], []
    sheets = [{"file": name, "sheet": c.name, "position": i, "read": c.read, "reason": c.reason_zh}
              for i, c in enumerate(frames.sheets, 1)]
    read = [c.name for c in frames.sheets if c.read]
    if len(read) == 1:
        return [_read(frames, name)], sheets
    frames.close()
    return [_read(_open(path, name, chunk_rows, sheet), name) for sheet in read], sheets


def file_inputs(
    paths: Sequence[Path], names: Sequence[str], *, entity: str | None = None, mapping: str | None = None,
    chunk_rows: int = 100_000,
) -> list[Input]:
    """Open every file (each matching sheet of a workbook its own input) and choose its mapping from
    its headers (or the one given)."""
    from mappings.engine import NoMappingFound, detect_mapping, load_mapping

    inputs = []
    for path, name in zip(paths, names, strict=True):
        readers, sheets = _per_sheet(path, name, chunk_rows)
        for index, chunks in enumerate(readers):
            first = next(chunks, None)
            if first is None:
                raise UnreadableInput(name, "the file holds no data rows", "文件中没有数据行")
            try:
                chosen = load_mapping(mapping) if mapping else detect_mapping(first.headers, entity=entity)
            except NoMappingFound as exc:
                raise UnreadableInput(name, str(exc), f"无法识别文件格式，表头与导入模板不符：{exc}") from exc
            for sheet in sheets:  # which template each sheet read was read as (batch_file.sheets)
                if sheet["read"] and sheet["sheet"] == first.sheet:
                    sheet["template"] = chosen.name
            frames = _chain(first, chunks, max(chunk_rows // FIRST_PART_SHARE, 1))
            # The raw file is kept once, with its first input.
            inputs.append(Input(chosen, frames, name, path if index == 0 else None, first.sheet,
                                sheets if index == 0 else []))
    return inputs


def sheet_records(inputs: Iterable[Input]) -> dict[str, dict[str, list[dict[str, str]]]]:
    """Per workbook (by the name a steward knows it): the sheets read, with the template each was
    read as, and the sheets skipped, with the reason in Chinese; what `batch_file.sheets` holds.
    `position` is the sheet's place in the workbook (1 = the first tab)."""
    records: dict[str, dict[str, list[dict[str, str]]]] = {}
    for item in inputs:
        for sheet in item.sheets:
            record = records.setdefault(sheet["file"], {"read": [], "skipped": []})
            if sheet["read"]:
                record["read"].append({"name": sheet["sheet"], "position": sheet["position"],
                                       "template": sheet.get("template") or ""})
            else:
                record["skipped"].append({"name": sheet["sheet"], "position": sheet["position"], "reason": sheet["reason"]})
    return records


def recorded_sheets(records: dict[str, dict[str, list[dict[str, str]]]]) -> list[dict[str, Any]]:
    """`batch_file.sheets` of a batch's files as the flat list a `BatchResult` carries, in workbook
    order: file, sheet, read, template (read sheets) or reason (skipped ones)."""
    flat: list[dict[str, Any]] = []
    for file, record in records.items():
        sheets = [{"file": file, "sheet": s["name"], "position": s.get("position", 0), "read": True,
                   "template": s.get("template"), "reason": None} for s in record.get("read", [])]
        sheets += [{"file": file, "sheet": s["name"], "position": s.get("position", 0), "read": False,
                    "template": None, "reason": s.get("reason")} for s in record.get("skipped", [])]
        flat += sorted(sheets, key=lambda s: s["position"])
    return flat


def record_inputs(frames: Iterable[SourceFrame], mapping: str) -> list[Input]:
    """The frames a reader returned (API pages), as ONE input under the source's mapping."""
    from mappings.engine import load_mapping

    return [Input(load_mapping(mapping), iter(frames))]


def _chain(first: SourceFrame, rest: Iterator[SourceFrame], first_rows: int) -> Iterator[SourceFrame]:
    parts = [first.slice(0, first_rows), first.slice(first_rows)] if first.data.height > first_rows else [first]
    del first  # the first chunk is not held while the rest of the input is read
    while parts:
        yield parts.pop(0)
    yield from rest


# --------------------------------------------------------------------------- parents before children


def _depth(entity: str) -> int:
    """0 for an entity without a parent, 1 for its children, and so on."""
    parent = schema.entity(entity).parent
    return 0 if parent is None else 1 + _depth(parent)


def reliance(entities: Iterable[str]) -> int:
    """How far down the parent chain an input reaches for a parent it does not carry itself: 0 when
    every entity it yields is a root or has its parent in the same input (a roster's groups and
    tourists), 1 for a file of tourists, … An input is staged after every input of a lower reliance."""
    carried = set(entities)
    return max(
        (_depth(e) for e in carried if (parent := schema.entity(e).parent) is not None and parent not in carried),
        default=0,
    )


def parents_first(inputs: Iterable[Input]) -> list[Input]:
    """The inputs of one batch in the order their rows are staged: the inputs that carry parents
    before the inputs whose children need them (stable: the given order otherwise). A batch is one
    transaction, so its result must not depend on the order its files were named in."""
    return sorted(inputs, key=lambda item: reliance(item.mapping.entities))


def progress(frames: Iterator[SourceFrame], label: str, enabled: bool) -> Iterator[SourceFrame]:
    if not enabled:
        yield from frames
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"{label}: 0 rows", total=None)
        rows = 0
        for frame in frames:
            rows += frame.data.height
            bar.update(task, description=f"{label}: {rows:,} rows")
            handed = [frame]
            del frame
            yield handed.pop()
