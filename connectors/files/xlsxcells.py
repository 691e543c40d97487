"""Where the cells of a block of sheet XML are: byte positions found column-wise with numpy.

Why positions and not a parser: a roster sheet is ~720 bytes of XML per row, ~20 `<c>` elements,
so a parse that touches each cell in Python (or each byte several times) caps the reader far below
the 80k rows/s a province's month needs. Here the block is scanned ONCE for `<`; every tag is
classified by the bytes after its `<` (gathers over the tags, not the block), and each cell's open
tag is cut out as a short fixed-width window in which its `r`, `t` and `s` attributes are found and
decoded by vectorised comparisons. A value ends at the next `<` after it (text holds no `<`), so
finding it is one `searchsorted`.

Row numbers and columns come from the cell's own reference (`r="AB12"`, as calamine takes them); a
cell without one raises `DamagedSheet` naming the reference, which the caller turns into a read by
calamine instead. What the values become is `xlsxstream._render`'s concern.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SPACE = np.array([32, 62, 47, 9, 10, 13], dtype=np.uint8)  # what may follow an element name
_WHITESPACE = np.array([32, 9, 10, 13], dtype=np.uint8)
_ENDS_NAME = np.isin(np.arange(256), _SPACE)  # lookup tables: a gather, where `np.isin` sorts
_IS_WHITESPACE = np.isin(np.arange(256), _WHITESPACE)
_IS_LETTER = (np.arange(256) >= 65) & (np.arange(256) <= 90)
# The `t` values a writer uses, by their first two bytes (`s"` is 1 long, `st` is `str`): length, kind.
_T_LENGTH = np.zeros(256 * 256, dtype=np.int64)
_T_KIND = np.zeros(256 * 256, dtype=np.uint8)
for _value, _kind in ((b"s", "s"), (b"n", "n"), (b"b", "b"), (b"e", "e"), (b"d", "d"), (b"str", "S"), (b"inlineStr", "i")):
    _key = _value[0] * 256 + (_value[1] if len(_value) > 1 else 34)
    _T_LENGTH[_key], _T_KIND[_key] = len(_value), ord(_kind)


class BlockDamaged(ValueError):
    """The block is not sheet XML as a writer produces it (the message says what)."""


def cell_positions(block: bytes, prefix: bytes) -> dict[str, np.ndarray] | None:
    """For each `<c>` of the block: `row`, `col` (0-based), `kind` (the `t` attribute's first byte,
    `S` for `str`, `n` without one, `_` for an empty `<c/>`), `style` (-1 without `s`), and the value's
    byte span `v_from`/`v_to` (`<v>`, or `<is>` for inline strings; -1 without). None: no cells."""
    arr = np.frombuffer(block + b" " * 16, dtype=np.uint8)
    size = len(block)
    lt = np.flatnonzero(arr[:size] == 60)
    lp = len(prefix)
    name = arr[lt + 1 + lp]
    after = arr[lt + 2 + lp]
    is_cell = (name == 99) & _ENDS_NAME[after]
    cell_at = np.flatnonzero(is_cell)  # index into `lt`
    if not len(cell_at):
        return None
    cs = lt[cell_at]
    nxt = lt[np.minimum(cell_at + 1, len(lt) - 1)]
    nxt = np.where(cell_at + 1 < len(lt), nxt, size)
    tag_end = nxt - 1  # the `>` just before the next tag (no whitespace between, as writers do)
    loose = arr[tag_end] != 62
    if loose.any():  # pretty-printed: the last `>` before the next tag
        gt = np.flatnonzero(arr[:size] == 62)
        fix = np.flatnonzero(loose)
        found = gt[np.maximum(np.searchsorted(gt, nxt[fix]) - 1, 0)]
        if ((found <= cs[fix]) | (len(gt) == 0)).any():
            raise BlockDamaged("a cell tag that is never closed")
        tag_end[fix] = found
    closed = arr[tag_end - 1] == 47  # <c …/>
    rows_at = lt[np.flatnonzero(name == 114)]  # `<r…`: rows, and rich-text runs of inline strings
    rows_at = rows_at[(arr[rows_at + 2 + lp] == 111) & (arr[rows_at + 3 + lp] == 119) & _ENDS_NAME[arr[rows_at + 4 + lp]]]
    in_row = np.searchsorted(rows_at, cs, side="right") - 1 if len(rows_at) else None
    regular = _regular_tags(arr, cs, tag_end, closed, lp, in_row)
    if regular is not None:
        col, row, kind, style = regular
    else:
        col, row, kind, style = _any_tags(arr, size, cs, tag_end, closed, in_row)
    v_from, v_to = _values(lt, name, after, arr, lp, cell_at, tag_end, nxt_cell(cs, size), closed)
    inline = kind == ord("i")
    if inline.any():
        i_from, i_to = _span(lt, name, after, arr, lp, ord("i"), tag_end, nxt_cell(cs, size), closed)
        v_from, v_to = np.where(inline, i_from, v_from), np.where(inline, i_to, v_to)
    return {"row": row, "col": col, "kind": kind, "style": style, "v_from": v_from, "v_to": v_to}


def _regular_tags(
    arr: np.ndarray, cs: np.ndarray, tag_end: np.ndarray, closed: np.ndarray, lp: int, in_row: np.ndarray | None
) -> tuple[np.ndarray, ...] | None:
    """(col, row, kind, style) of open tags as every writer seen writes them: `<c r="REF"` first,
    then `s="N"` and `t="T"` in either order, one space apart. Walked attribute by attribute with a
    few gathers per cell, where `_any_tags` scans the block and binary-searches every quote (a third
    of the whole read). None: a tag of another shape (the caller takes `_any_tags`)."""
    if in_row is None or not bytes_at(arr, cs + lp + 2, b' r="').all():
        return None
    ref = cs + lp + 6
    col, row, letters = _reference(arr, ref, in_row)
    at = ref + letters + _decimal_length(row + 1)  # the reference's closing quote
    if not (arr[at] == 34).all():
        return None
    at += 1
    stop = np.where(closed, tag_end - 1, tag_end)  # the `/` of `<c …/>` or the `>`
    kind = np.full(len(cs), ord("n"), dtype=np.uint8)
    style = np.full(len(cs), -1, dtype=np.int64)
    for _ in range(2):
        more = np.flatnonzero(at < stop)
        if not len(more):
            break
        here = at[more]
        letter = arr[here + 1]
        is_t, is_s = letter == 116, letter == 115
        if not ((arr[here] == 32) & (arr[here + 2] == 61) & (arr[here + 3] == 34) & (is_t | is_s)).all():
            return None
        value = here + 4
        t_cells, t_value = more[is_t], value[is_t]
        key = arr[t_value].astype(np.int64) * 256 + arr[t_value + 1]
        t_end = t_value + _T_LENGTH[key]
        if ((_T_LENGTH[key] == 0) | (arr[t_end] != 34)).any():
            return None
        kind[t_cells], at[t_cells] = _T_KIND[key], t_end + 1
        s_cells = more[is_s]
        if len(s_cells):
            style[s_cells], run = digits(arr, value[is_s], 34, lengths=True)
            at[s_cells] = value[is_s] + run + 1
    if not (at == stop).all():
        return None
    return col, row, np.where(closed, ord("_"), kind), style


def _any_tags(
    arr: np.ndarray, size: int, cs: np.ndarray, tag_end: np.ndarray, closed: np.ndarray, in_row: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """(col, row, kind, style) of open tags with their attributes in any order and spacing."""
    ref, t_at, s_at = _attributes(arr, size, cs, tag_end, b"rts")
    if (ref < 0).any():
        raise BlockDamaged("cells without their reference (r)")
    col, row, _ = _reference(arr, ref, in_row)
    t_pos = np.maximum(t_at, 0)
    kind = np.where(t_at < 0, ord("n"), arr[t_pos])
    kind = np.where((kind == ord("s")) & (arr[t_pos + 1] != 34), ord("S"), kind)  # "str" vs "s"
    kind = np.where(closed, ord("_"), kind)
    style = np.full(len(cs), -1, dtype=np.int64)
    styled = np.flatnonzero(s_at >= 0)
    if len(styled):
        style[styled] = digits(arr, s_at[styled], 34)
    return col, row, kind, style


def _values(lt: np.ndarray, name: np.ndarray, after: np.ndarray, arr: np.ndarray, lp: int, cell_at: np.ndarray,
            tag_end: np.ndarray, next_cell: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[from, to) of each cell's `<v>` text: where the tag after the cell's is `<v>` (every cell but
    formulas and inline strings), the one after that ends it; the others by `_span`'s search."""
    last = len(lt) - 1
    v_tag = np.minimum(cell_at + 1, last)
    direct = ~closed & (cell_at + 2 <= last) & (name[v_tag] == 118) & (after[v_tag] == 62)
    v_from = np.where(direct, lt[v_tag] + 3 + lp, -1)
    v_to = np.where(direct, lt[np.minimum(cell_at + 2, last)], -1)
    if ((arr[v_to[direct] + 1] != 47) | (arr[v_to[direct] + 2 + lp] != 118)).any():
        raise BlockDamaged("an element that is never closed")
    if (~closed & ~direct).any():  # a formula's `<f>` first, an empty `<c></c>`, an inline string
        s_from, s_to = _span(lt, name, after, arr, lp, ord("v"), tag_end, next_cell, closed)
        v_from, v_to = np.where(direct, v_from, s_from), np.where(direct, v_to, s_to)
    return v_from, v_to


def nxt_cell(cs: np.ndarray, size: int) -> np.ndarray:
    return np.append(cs[1:], size)


def _attributes(arr: np.ndarray, size: int, cs: np.ndarray, tag_end: np.ndarray, names: bytes) -> list[np.ndarray]:
    """Per cell, where the value of each one-letter attribute in `names` starts (after `x="`), or -1.

    One pass over the block for the pair `="` (a quarter of the CPU of finding every `"`, then the
    byte before it): each `="` inside a cell's open tag whose name is one letter after whitespace is
    that cell's attribute (a quote in a value's text lies past the tag and is ignored)."""
    quote = np.flatnonzero((arr[1:size] == 34) & (arr[: size - 1] == 61)) + 1  # `="` found as a pair: one pass
    quote = quote[quote >= 3]
    quote = quote[_IS_WHITESPACE[arr[quote - 3]]]
    owner = np.searchsorted(cs, quote, side="right") - 1
    inside = (owner >= 0) & (quote < tag_end[np.maximum(owner, 0)])
    quote, owner = quote[inside], owner[inside]
    letter = arr[quote - 2]
    found = []
    for name in names:
        at = np.full(len(cs), -1, dtype=np.int64)
        mine = letter == name
        at[owner[mine]] = quote[mine] + 1
        found.append(at)
    return found



def _reference(arr: np.ndarray, at: np.ndarray, in_row: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """0-based (column, row) of references like `AB12"` starting at `at`, and their letters' count.
    `in_row`: which `<row>` element each cell is in; the row number is read from the first cell of
    each (the cells of one `<row>` share it): twenty times fewer numbers to read than one per cell."""
    first, second, third = (arr[at + k] for k in range(3))
    two = _IS_LETTER[second]
    three = two & _IS_LETTER[third]
    if not _IS_LETTER[first].all():
        raise BlockDamaged("a cell reference that is not a column and a row")
    letters = 1 + two + three
    a, b, c = (x.astype(np.int64) - 64 for x in (first, second, third))
    col = np.where(three, a * 676 + b * 26 + c, np.where(two, a * 26 + b, a))
    if in_row is None:
        row = digits(arr, at + letters, 34)
    else:
        starts = np.r_[True, in_row[1:] != in_row[:-1]]
        row = digits(arr, (at + letters)[starts], 34)[np.cumsum(starts) - 1]
    if (row < 1).any():
        raise BlockDamaged("a cell reference that is not a column and a row")
    return col - 1, row - 1, letters


def _decimal_length(values: np.ndarray) -> np.ndarray:
    """How many decimal digits each positive integer is written with."""
    return np.searchsorted(_POWERS, values, side="right")


_POWERS = 10 ** np.arange(19, dtype=np.int64)


def digits(arr: np.ndarray, at: np.ndarray, end: int, width: int = 10, lengths: bool = False) -> Any:
    """The decimal integers written from `at` up to the byte `end` (a quote or `<`), at most `width`
    digits (and, with `lengths`, how many each has); anything else there raises `BlockDamaged`."""
    window = arr[np.minimum(at[:, None] + np.arange(width + 1), len(arr) - 1)] - np.uint8(48)  # wraps: digits < 10
    digit = window < 10
    run = np.argmin(digit, axis=1)  # leading digits (0 also when all are digits: too long)
    if ((run < 1) | (window[np.arange(len(at)), run] != np.uint8((end - 48) % 256))).any():
        raise BlockDamaged("a number attribute or index that is not a number")
    value = window[:, 0].astype(np.int64)
    for k in range(1, int(run.max())):
        more = run > k
        value = np.where(more, value * 10 + window[:, k], value)
    return (value, run) if lengths else value


def digits_between(arr: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The decimal integers written exactly in the byte ranges [start, end) (a `<v>` index): the
    lengths are known, so only the digits are read; anything else there raises `BlockDamaged`."""
    length = end - start
    width = int(length.max()) if len(length) else 0
    if width > 18 or (length < 1).any():
        raise BlockDamaged("a number attribute or index that is not a number")
    value = np.zeros(len(start), dtype=np.int64)
    for k in range(width):
        more = k < length
        d = arr[np.where(more, start + k, 0)] - np.uint8(48)  # wraps: digits < 10
        if (more & (d >= 10)).any():
            raise BlockDamaged("a number attribute or index that is not a number")
        value = np.where(more, value * 10 + d, value)
    return value


def bytes_at(arr: np.ndarray, at: np.ndarray, expected: bytes) -> np.ndarray:
    """Which positions `at` of `arr` start with `expected`."""
    same = np.ones(len(at), dtype=bool)
    for k, byte in enumerate(expected):
        same &= arr[at + k] == byte
    return same


def plain_integers(arr: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Which byte ranges [start, end) hold a whole number as `cells.float_text` would write it (1 to
    15 digits, no leading zero, no sign): that text is the cell's text as it stands."""
    length = end - start
    plain = (length >= 1) & (length <= 15)
    for k in range(int(length[plain].max()) if plain.any() else 0):
        inside = k < length
        plain &= ~inside | (arr[np.where(inside, start + k, 0)] - np.uint8(48) < 10)  # wraps: digits < 10
    return plain & ((arr[start] != 48) | (length == 1))


def _span(lt: np.ndarray, name: np.ndarray, after: np.ndarray, arr: np.ndarray, lp: int, element: int,
          tag_end: np.ndarray, next_cell: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[from, to) of the first `<v>` (element `v`) or `<is>` (`i`) inside each cell, or (-1, -1): the
    text runs from after the open tag to the matching close tag."""
    if element == ord("v"):
        opens = np.flatnonzero((name == 118) & (after == 62))
        start, close = 3 + lp, (47, 118)
    else:
        opens = np.flatnonzero((name == 105) & (after == 115) & (arr[lt + 3 + lp] == 62))
        start, close = 4 + lp, (47, 105)
    none = np.full(len(tag_end), -1, dtype=np.int64)
    if not len(opens):
        return none, none
    at = lt[opens]
    first = np.minimum(np.searchsorted(at, tag_end), len(at) - 1)
    ok = (at[first] > tag_end) & (at[first] < next_cell) & ~closed
    if element == ord("v"):  # `<v>` holds text only: it ends at the next tag
        end_index = np.minimum(opens[first] + 1, len(lt) - 1)
        to = lt[end_index]
        bad = ok & ((opens[first] + 1 >= len(lt)) | (arr[to + 1] != close[0]) | (arr[to + 2 + lp] != close[1]))
    else:  # `<is>` holds runs: it ends at its `</is>`
        ends = lt[np.flatnonzero((arr[lt + 1] == 47) & (arr[lt + 2 + lp] == 105) & (arr[lt + 3 + lp] == 115))]
        if not len(ends):
            raise BlockDamaged("an element that is never closed")
        to = ends[np.minimum(np.searchsorted(ends, at[first]), len(ends) - 1)]
        bad = ok & ((to < at[first]) | (to > next_cell))
    if bad.any():
        raise BlockDamaged("an element that is never closed")
    return np.where(ok, at[first] + start, -1), np.where(ok, to, -1)
