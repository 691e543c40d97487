"""tourlink/cli_params.py: text, flag and path parameters coerced as typer's own pydantic adapters would."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer import _coercion, core
from typer._click.exceptions import BadParameter
from typer.models import ArgumentInfo, OptionInfo

import tourlink.cli  # noqa: F401 - installs the plain coercion, as every `tourlink` process does
from tourlink import cli_params

TYPER_OWN = _coercion.build_runtime_param


def both(annotation, info):  # noqa: ANN001, ANN202
    """(ours, typer's own) runtime coercion of one parameter."""
    descriptor = _coercion.resolve_type_descriptor(annotation, info)
    return core.build_runtime_param(descriptor), TYPER_OWN(descriptor)


def outcome(runtime, value):  # noqa: ANN001, ANN202
    try:
        result = runtime._coerce_value(value, param=None, ctx=None)  # past `coerce`'s None/multi-value checks
    except BadParameter as exc:
        return "BadParameter", exc.message
    return type(result).__name__, result


def test_the_cli_routes_plain_parameters_here_and_only_once():
    assert core.build_runtime_param is not TYPER_OWN
    assert cli_params.install() is False  # already installed: nothing wrapped twice


@pytest.mark.parametrize(
    ("annotation", "info", "values"),
    [
        (str, OptionInfo(), ["files", "", " 中文 ", b"bytes"]),
        (bool, OptionInfo(), [True, False, "yes", "off", "maybe", 1]),  # a non-bool: typer's own answer
        (list[str], OptionInfo(), [("a", "b"), [], "one"]),
    ],
)
def test_text_and_flags_come_out_as_typer_s_own(annotation, info, values):
    ours, theirs = both(annotation, info)
    assert isinstance(ours, cli_params_plain_type())
    for value in values:
        assert outcome(ours, value) == outcome(theirs, value), value


def test_paths_are_checked_with_typer_s_own_messages(tmp_path):
    file = tmp_path / "团队名单.xlsx"
    file.write_bytes(b"x")
    values = [str(file), str(tmp_path), str(tmp_path / "missing.csv"), f"{tmp_path}//团队名单.xlsx", "./", (str(file),)]
    for info in (ArgumentInfo(exists=True, dir_okay=False), OptionInfo(dir_okay=False), OptionInfo(exists=True, file_okay=False),
                 OptionInfo(resolve_path=True)):  # fmt: skip
        for annotation in (Path, list[Path]):
            ours, theirs = both(annotation, info)
            assert isinstance(ours, cli_params_plain_type())
            for value in values:
                assert outcome(ours, value) == outcome(theirs, value), (annotation, value)


def test_any_other_parameter_is_typer_s_own():
    for annotation, info in ((int, OptionInfo()), (Path, OptionInfo(allow_dash=True)), (str, OptionInfo(parser=str.upper)),
                             (tuple[int, int], OptionInfo())):  # fmt: skip
        ours, _ = both(annotation, info)
        assert not isinstance(ours, cli_params_plain_type()), annotation


def cli_params_plain_type() -> type:
    descriptor = _coercion.resolve_type_descriptor(str, OptionInfo())
    return type(core.build_runtime_param(descriptor))
