"""The CLI's text and path parameters coerced without pydantic (start-up, issue 19, `bench/startup.py`).

typer 0.29 coerces every parameter but a boolean flag through a pydantic `TypeAdapter`, built on the
parameter's first use: importing pydantic for it and building the adapters of `tourlink import`'s
four such parameters costs 65–100 ms of CPU of every command, ~8 % of a one-file import. For the
parameters the commands declare most, a string (`str`, also `str | None`), a flag, a `Path` and a
list of them, that adapter does nothing pydantic is needed for:

- `str`: a value that already is a `str` is returned as it is (typer's `_parse_cli_str` then
  pydantic's `str` check); `bool` likewise a `bool` (typer skips a flag's own bool, but builds the
  adapter first);
- `Path`: typer's own `coerce_cli_path` runs every check (`exists`, `dir_okay`, `readable`, …, with
  typer's messages), on the text as given, and the text becomes a `Path` (pydantic's `Path(text)`).

`install` has typer build such parameters' coercion here; any other parameter, and any value not of
the parameter's own type (bytes from an odd argv), goes through typer's own, pydantic and all, so the
behaviour is typer's (tests/cli/test_startup_cli.py holds the messages). When typer's internals are
not what this module expects (another typer), `install` changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin


def install() -> bool:
    """Route the plain text and path parameters of every typer command here; False (nothing
    changed) when this typer does not coerce as 0.29 does."""
    try:
        from typer import _coercion, core
        from typer._param_types import coerce_cli_path
    except ImportError:
        return False
    original = getattr(core, "build_runtime_param", None)
    runtime_param = getattr(_coercion, "RuntimeParam", None)
    if original is None or runtime_param is None or getattr(original, "_tourlink", False):
        return False

    @dataclass(frozen=True)
    class PlainParam(runtime_param):  # type: ignore[misc, valid-type]
        """A `str`/`bool`/`Path` parameter (or a list of one): see the module's docstring."""

        leaf: type = str
        many: bool = False
        typer_own: list[Any] = field(default_factory=list, compare=False)  # typer's coercion, built if needed

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.many:
                items = value if isinstance(value, list | tuple) else [value]
                if all(isinstance(item, self._given) for item in items):
                    return [self._one(item, param, ctx) for item in items]
            elif isinstance(value, self._given):
                return self._one(value, param, ctx)
            if not self.typer_own:
                self.typer_own.append(original(self._descriptor()))
            return self.typer_own[0]._coerce_value(value, param=param, ctx=ctx)

        @property
        def _given(self) -> type:
            return bool if self.leaf is bool else str  # a value of any other type: typer's own

        def _one(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.leaf is not Path:
                return value
            return Path(coerce_cli_path(value, self.parameter_info, path_type=None, param=param, ctx=ctx))

        def _descriptor(self) -> Any:
            return _coercion.TypeDescriptor(annotation=self.annotation, parameter_info=self.parameter_info,
                                            file_annotation=None)  # fmt: skip

    def build_runtime_param(descriptor: Any) -> Any:
        plain = _plain(descriptor)
        if plain is None:
            return original(descriptor)
        leaf, many = plain
        return PlainParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, leaf=leaf, many=many)

    build_runtime_param._tourlink = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True


def _plain(descriptor: Any) -> tuple[type, bool] | None:
    """(`str`, `bool` or `Path`, whether a list) when typer would coerce `descriptor` by its `str`, `bool`
    or path adapter (`typer._adapters.build_leaf_adapter`: no parser; a `str` is never routed as a path),
    else None."""
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return None
    annotation, many = descriptor.annotation, False
    if get_origin(annotation) is list and len(get_args(annotation)) == 1:
        annotation, many = get_args(annotation)[0], True
    if annotation is str or annotation is bool:
        return annotation, many
    if annotation is Path and getattr(info, "path_type", None) in (None, Path) and getattr(info, "allow_dash", True) is False:
        return Path, many
    return None
