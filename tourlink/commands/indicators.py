"""`tourlink indicators`, `incentive`, `findings`: the warehouse's regulatory figures on the command line.

Kept light (SQLAlchemy and rich only; warehouse modules imported inside the commands) so that these
answer in about a second. A steward reads their own region only (`tourlink.identity`); publishing and
storing national results is an administrator's; every command is written to the audit log.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

MonthOpt = Annotated[str, typer.Option("--month", help="月份 YYYY-MM")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="区划代码: 21、2101、210000、210100；缺省为本人管辖地区（平台管理员为全国）")]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _engine():
    import sqlalchemy as sa

    from tourlink import settings

    return sa.create_engine(settings.warehouse_url())


def _region(code: str | None) -> str:
    from warehouse.regions import normalise_region

    try:
        return normalise_region(code)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--region") from exc


def _month(label: str) -> str:
    from warehouse.regions import Month

    try:
        return Month.parse(label).label
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from exc


def _scoped(op, action: str, code: str | None, engine) -> str:  # noqa: ANN001
    """The region the operator may read (normalised like `_region`); "CN" for the nation."""
    from tourlink.audit.cli import scoped_region

    r = _region(code)
    allowed = scoped_region(op, action, None if r == "CN" else r, engine=engine)
    return _region(allowed)


def _dump(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail_on_database(exc: Exception) -> None:
    typer.secho(f"无法读取数仓（{exc.__class__.__name__}）：请先导入数据或检查 TOURLINK_WAREHOUSE_URL", err=True, fg="red")
    raise typer.Exit(1)


def _value_text(figure) -> str:
    from warehouse.indicators import RATIO_INDICATORS

    if figure.value is None:
        return "—"
    return f"{figure.value}%" if figure.indicator in RATIO_INDICATORS else str(figure.numerator)


def _figure_table(title: str, figures):
    from rich.table import Table

    from warehouse.indicators import INDICATOR_NAMES, KEY_INDICATORS

    table = Table(title=title)
    for col, justify in (("指标", "right"), ("名称", "left"), ("分子", "right"), ("分母", "right"), ("值", "right")):
        table.add_column(col, justify=justify)
    for f in figures:
        star = "★" if f.indicator in KEY_INDICATORS else ""
        den = "" if f.denominator is None else str(f.denominator)
        table.add_row(f"{f.indicator}{star}", INDICATOR_NAMES[f.indicator], str(f.numerator), den, _value_text(f))
    return table


def indicators(
    month: MonthOpt,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
    publish: Annotated[bool, typer.Option("--publish", help="发布（冻结）该月全部区域的指标快照")] = False,
    key_cities: Annotated[bool, typer.Option("--key-cities", help="指标9：本省重点城市（需 --region 省份）")] = False,
    key_agencies: Annotated[bool, typer.Option("--key-agencies", help="指标10：重点企业填报情况")] = False,
    version: Annotated[int | None, typer.Option("--version", help="读取已发布的第 N 版（不重新计算）")] = None,
    diff: Annotated[tuple[int, int] | None, typer.Option("--diff", help="比较已发布的两版：--diff N M")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="更正发布（第2版起）的原因")] = None,
) -> None:
    """附件2 指标 1–8（或 9、10）：分子、分母与比率；或已发布的版本及两版之间的差异。"""
    import sqlalchemy as sa
    from rich.console import Console

    from tourlink.audit.cli import done, operator, require_admin
    from warehouse import indicators as ind

    op = operator()
    m = _month(month)
    console = Console()
    engine = _engine()
    r = _scoped(op, "indicators", region, engine)
    if publish:
        require_admin(op, "publish", "发布指标", engine=engine)
    if version is not None or diff is not None:
        _published(op, engine, m, r, version, diff, as_json)
        return
    try:
        with engine.connect() as conn:
            if key_cities:
                if r == "CN" or len(r) != 2:  # "CN" (no --region) is two characters too
                    raise typer.BadParameter("重点城市须指定省份，如 --region 21", param_hint="--region")
                cities = ind.key_cities(conn, m, r)
                if as_json:
                    _dump([{"city_code": c.city_code, "name": c.name, "rank": c.rank,
                            "indicators": [f.as_dict() for f in c.figures]} for c in cities])
                for c in [] if as_json else cities:
                    console.print(_figure_table(f"{m} 重点城市第{c.rank}名 {c.city_code} {c.name or ''}", c.figures))
                if not cities and not as_json:
                    console.print(f"{m[:4]}年 {r} 无重点城市名单")
            elif key_agencies:
                agencies = ind.key_agencies(conn, m, None if r == "CN" else r)
                if as_json:
                    _dump([{"uscc": a.uscc, "month": a.month, "filed": a.filed, "indicators": [
                        {k: v for k, v in f.as_dict().items() if k not in ("month", "region")} for f in a.figures
                    ]} for a in agencies])
                else:
                    from rich.table import Table

                    table = Table(title=f"{m} 重点企业填报情况（{r}）")
                    for col in ("排名", "统一社会信用代码", "名称", "出境团队", "出境合同", "团队", "合同", "游客签约率", "已填报"):
                        table.add_column(col)
                    for a in agencies:
                        f = {x.indicator: x for x in a.figures}
                        table.add_row(str(a.rank or ""), a.uscc, a.name or "", str(f[1].numerator), str(f[3].numerator),
                                      str(f[5].numerator), str(f[6].numerator), _value_text(f[7]), "是" if a.filed else "否")
                    console.print(table)
            else:
                figures = ind.compute_indicators(conn, m, r)
                if as_json:
                    _dump([f.as_dict() for f in figures])
                else:
                    console.print(_figure_table(f"{m} 指标（{'全国' if r == 'CN' else r}）", figures))
        if publish:
            from warehouse.snapshots import MissingReason
            from warehouse.snapshots import publish as publish_month

            try:
                snap = publish_month(engine, m, reason=reason, require_reason=True)
            except MissingReason:
                raise typer.BadParameter(f"{m} 的指标与上一版不同：更正发布须说明原因", param_hint="--reason") from None
            done(op, "publish", engine=engine, target=f"{snap.month} v{snap.version}", rows=len(snap.figures),
                 detail={"reason": snap.reason} if snap.reason else {})
            typer.echo(f"已发布 {snap.month} 第{snap.version}版（{snap.published_at:%Y-%m-%d %H:%M:%S} UTC，"
                       f"{len(snap.figures)}项）", err=as_json)
        done(op, "indicators", engine=engine, region=None if r == "CN" else r, target=m,
             detail={"key_cities": key_cities, "key_agencies": key_agencies})
    except sa.exc.DBAPIError as exc:
        _fail_on_database(exc)
    finally:
        engine.dispose()


def _published(op, engine, month: str, region: str, number: int | None, pair, as_json: bool) -> None:  # noqa: ANN001
    """`--version N`: a frozen version's figures of the region; `--diff N M`: what changed between two."""
    from types import SimpleNamespace

    from rich.console import Console

    from tourlink.audit.cli import done
    from warehouse.snapshots import diff, version

    wanted = [number] if pair is None else list(pair)
    with engine.connect() as conn:
        found = {n: version(conn, month, n) for n in wanted}
    missing = [n for n, snap in found.items() if snap is None]
    if missing:
        typer.secho(f"{month} 没有已发布的第{missing[0]}版", err=True, fg="red")
        raise typer.Exit(1)
    done(op, "indicators", engine=engine, region=None if region == "CN" else region, target=f"{month} v{'/'.join(map(str, wanted))}")
    if pair is None:
        snap = found[number]
        figures = [f for f in snap.figures if f["region"] == region]
        if as_json:
            _dump({"month": month, "version": snap.version, "published_at": snap.published_at, "reason": snap.reason,
                   "figures": figures})
            return
        rows = [SimpleNamespace(month=month, **f) for f in figures]
        title = f"{month} 第{snap.version}版（{snap.published_at:%Y-%m-%d %H:%M} UTC 发布{'，原因：' + snap.reason if snap.reason else ''}）"
        Console().print(_figure_table(title, rows))
        return
    old, new = found[pair[0]], found[pair[1]]
    changes = diff(old, new, region)
    if as_json:
        _dump({"month": month, "from": old.version, "to": new.version, "reason": new.reason, "changes": changes})
        return
    from rich.table import Table

    from warehouse.indicators import INDICATOR_NAMES

    table = Table(title=f"{month} 第{old.version}版 → 第{new.version}版（{region}）：{len(changes)}项变化"
                        + (f"；原因：{new.reason}" if new.reason else ""))
    for col in ("指标", "名称", f"第{old.version}版", f"第{new.version}版"):
        table.add_column(col)
    for c in changes:
        def text(f):  # noqa: ANN001, ANN202
            return "—" if f is None else f"{f['numerator']}/{f['denominator'] if f['denominator'] is not None else ''} {f['value'] if f['value'] is not None else ''}"
        table.add_row(str(c["indicator"]), INDICATOR_NAMES.get(c["indicator"], ""), text(c["old"]), text(c["new"]))
    Console().print(table)


def incentive(
    year: Annotated[int, typer.Option("--year", help="年度")],
    province: Annotated[str, typer.Option("--province", help="省级区划代码")] = "21",
    cutoff: Annotated[str | None, typer.Option("--cutoff", help="补录截止日期 YYYY-MM-DD，缺省为当年4月20日")] = None,
    as_json: JsonOpt = False,
    top: Annotated[int | None, typer.Option("--top", help="只显示前 N 家")] = None,
) -> None:
    """引客入辽：省内地接社接待的省外及境外游客人次。"""
    import sqlalchemy as sa
    from rich.console import Console
    from rich.table import Table

    from tourlink.audit.cli import done, operator
    from warehouse.incentive import incentive as count

    try:
        cut = date.fromisoformat(cutoff) if cutoff else None
    except ValueError as exc:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD: {cutoff!r}", param_hint="--cutoff") from exc
    p = _region(province)
    if p == "CN" or len(p) != 2:
        raise typer.BadParameter("须为省级区划代码，如 21", param_hint="--province")
    op = operator()
    engine = _engine()
    _scoped(op, "incentive", p, engine)  # a province-wide list: a city steward may not read it
    try:
        result = count(engine, year, p, cut)
        done(op, "incentive", engine=engine, region=p, target=str(year), rows=len(result))
    except sa.exc.DBAPIError as exc:
        _fail_on_database(exc)
    finally:
        engine.dispose()
    result = result[:top] if top else result
    if as_json:
        _dump([a.as_dict() for a in result])
        return
    table = Table(title=f"{year}年 引客入辽（省份 {p}，补录截止 {cut or date(year, 4, 20)}）")
    for col in ("统一社会信用代码", "旅行社名称", "有效团队", "逾期团队", "省外游客", "境外游客", "合计"):
        table.add_column(col)
    for a in result:
        table.add_row(a.uscc, a.name or "", str(a.eligible_groups), str(a.late_groups), str(a.out_of_province),
                      str(a.overseas), str(a.tourists))
    Console().print(table)


def findings(
    month: Annotated[str | None, typer.Option("--month", help="月份 YYYY-MM；缺省为全部")] = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
    store: Annotated[bool, typer.Option("--store", help="写入 finding 表（替换该月原有比对结果）")] = False,
) -> None:
    """比对核查结果（第7节）：按旅行社、月份列出，不隔离数据。"""
    import sqlalchemy as sa
    from rich.console import Console
    from rich.table import Table

    from tourlink.audit.cli import done, operator, require_admin
    from warehouse.cross_checks import RULE_NAMES, cross_checks, store_findings

    m = _month(month) if month else None
    op = operator()
    engine = _engine()
    r = _scoped(op, "findings", region, engine)
    try:
        if store:
            if r != "CN":
                raise typer.BadParameter("--store 只能用于全国范围", param_hint="--region")
            require_admin(op, "findings_store", "写入比对结果", engine=engine)
        result = cross_checks(engine, m, None if r == "CN" else r)
        done(op, "findings", engine=engine, region=None if r == "CN" else r, target=m, rows=len(result))
        if store:
            n = store_findings(engine, result, m)
            typer.echo(f"已写入 {n} 条比对结果", err=True)
    except sa.exc.DBAPIError as exc:
        _fail_on_database(exc)
    finally:
        engine.dispose()
    if as_json:
        _dump([f.as_dict() for f in result])
        return
    table = Table(title=f"比对核查 {m or '全部月份'}（{'全国' if r == 'CN' else r}）：{len(result)}条")
    for col in ("旅行社", "月份", "规则", "对象", "说明"):
        table.add_column(col)
    for f in result:
        key = "/".join(str(v) for v in f.natural_key.values())
        table.add_row(f.agency_uscc or "", f.month or "", RULE_NAMES.get(f.rule, f.rule), key, f.message)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("indicators")(indicators)
    app.command("incentive")(incentive)
    app.command("findings")(findings)
