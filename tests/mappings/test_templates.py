"""SPEC section 5: the import templates and the canonical format, their detection and their splits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mappings.engine import NoMappingFound, detect_mapping, known_headers, load_mapping
from tests.mappings.conftest import source_frame

USCC = "91210102MA0P4XYZ1K"


def _roster(**overrides) -> dict[str, list]:
    columns = {
        "团号": ["LN-2024-001"] * 3,
        "团队类型": ["出境"] * 3,
        "组团社统一社会信用代码": [USCC] * 3,
        "线路名称": ["日本五日游"] * 3,
        "出发日期": ["2024-05-01"] * 3,
        "返回日期": ["2024/5/5"] * 3,
        "目的地": ["日本"] * 3,
        "出境口岸": ["大连"] * 3,
        "游客人数": ["3"] * 3,
        "团队状态": ["已报送"] * 3,
        "序号": ["1", "2", "3"],
        "姓名": ["张三", "李四", "王五"],
        "性别": ["男", "女", "男"],
        "出生日期": ["1990-01-01", "1991-02-02", "1992-03-03"],
        "证件类型": ["护照"] * 3,
        "证件号码": ["E12345678", "E23456789", "E34567890"],
        "领队证号": ["L-2020-000001", None, None],
    }
    columns.update(overrides)
    return columns


def test_a_roster_splits_into_its_group_members_and_leader(received_at):
    out = load_mapping("roster_template").apply(source_frame(_roster()), received_at=received_at, source="sftp")
    group, members, staff = out["tour_group"], out["group_member"], out["group_staff"]
    assert group.height == 1
    assert group.select("group_code", "organizer_uscc", "group_type", "start_date", "end_date", "destinations",
                        "tourist_count", "status").row(0) == (
        "LN-2024-001", USCC, "OUTBOUND", date(2024, 5, 1), date(2024, 5, 5), ["JPN"], 3, "SUBMITTED")
    assert group["submitted_at"].to_list() == [datetime(2024, 5, 2, 2, 0, tzinfo=UTC)]
    assert group["_row"].to_list() == [2]
    assert members.select("group_code", "seq_no", "name", "gender", "doc_type", "nationality").rows() == [
        ("LN-2024-001", 1, "张三", "M", "CN_PASSPORT", "CHN"),
        ("LN-2024-001", 2, "李四", "F", "CN_PASSPORT", "CHN"),
        ("LN-2024-001", 3, "王五", "M", "CN_PASSPORT", "CHN"),
    ]
    assert members["_row"].to_list() == [2, 3, 4]
    assert staff.select("organizer_uscc", "group_code", "guide_card_no", "role", "service_from", "service_to").rows() == [
        (USCC, "LN-2024-001", "L-2020-000001", "LEADER", date(2024, 5, 1), date(2024, 5, 5))]
    assert staff["_row"].to_list() == [2]
    for frame in out.values():
        assert frame["_issues"].list.len().sum() == 0


def test_a_row_disagreeing_on_a_group_column_is_kept_as_a_second_group_row(received_at):
    columns = _roster(返回日期=["2024/5/5", "2024/5/5", "2024/5/6"])
    group = load_mapping("roster_template").apply(source_frame(columns), received_at=received_at, source="sftp")["tour_group"]
    assert group.select("group_code", "end_date", "_row").rows() == [
        ("LN-2024-001", date(2024, 5, 5), 2), ("LN-2024-001", date(2024, 5, 6), 4)]


def test_group_columns_written_differently_but_meaning_the_same_are_one_group(received_at):
    columns = _roster(团队类型=["出境", "出境游", "OUTBOUND"], 返回日期=["2024/5/5", "2024-05-05", "20240505"])
    group = load_mapping("roster_template").apply(source_frame(columns), received_at=received_at, source="sftp")["tour_group"]
    assert group.height == 1


def test_a_roster_without_a_leader_column_has_no_staff_rows(received_at):
    columns = _roster()
    del columns["领队证号"]
    out = load_mapping("roster_template").apply(source_frame(columns), received_at=received_at, source="sftp")
    assert out["group_staff"].height == 0 and out["group_member"].height == 3


def test_the_contract_template_splits_into_contract_and_tourists(received_at):
    columns = {
        "合同编号": ["HT001", "HT001"], "旅行社统一社会信用代码": [USCC] * 2, "合同类型": ["团队出境旅游合同"] * 2,
        "团号": ["LN-2024-001"] * 2, "出发日期": ["2024-05-01"] * 2, "返回日期": ["2024-05-05"] * 2,
        "游客人数": ["2"] * 2, "合同金额": ["12,000.00"] * 2, "合同状态": ["已签署"] * 2,
        "上传时间": ["2024-04-20 10:00:00"] * 2, "签署时间": ["2024-04-20 09:30"] * 2,
        "序号": ["1", "2"], "游客姓名": ["张三", "李四"], "性别": ["男", "女"], "出生日期": ["1990-01-01", "1991-02-02"],
        "证件类型": ["身份证", "外国护照"], "身份证号": ["210102199001011234", "P1234567"], "国籍": [None, "日本"],
    }
    mapping = detect_mapping(list(columns))
    assert mapping.name == "contract_template"
    out = mapping.apply(source_frame(columns), received_at=received_at, source="sftp")
    contract, tourists = out["e_contract"], out["contract_tourist"]
    assert contract.select("contract_code", "contract_type", "status", "tourist_count", "signed_at").rows() == [
        ("HT001", "OUTBOUND", "SIGNED", 2, datetime(2024, 4, 20, 1, 30, tzinfo=UTC))]
    assert str(contract["price_total"][0]) == "12000.00"
    assert contract["updated_at"].to_list() == [datetime(2024, 5, 2, 2, 0, tzinfo=UTC)]
    assert tourists.select("contract_code", "seq_no", "name", "doc_type", "doc_no", "nationality").rows() == [
        ("HT001", 1, "张三", "CN_RIC", "210102199001011234", "CHN"),
        ("HT001", 2, "李四", "FOREIGN_PASSPORT", "P1234567", "JPN"),
    ]


@pytest.mark.parametrize("headers, expected", [
    (["团号", "组团社统一社会信用代码", "姓名", "证件号码", "出发日期"], "roster_template"),
    (["团队编号", "组团社统一社会信用代码", "游客姓名", "身份证号", "出团日期", "回团日期"], "roster_template"),
    (["*团号", "组团社统一社会信用代码(必填)", "旅客姓名", "证件号", "领队证号"], "roster_template"),
    (["合同编号", "旅行社统一社会信用代码", "姓名", "证件号码"], "contract_template"),
    (["统一社会信用代码", "旅行社名称", "经营范围", "单位类型"], "agency_template"),
    (["导游证号", "姓名", "身份证号", "更新时间"], "guide_template"),
    (["导游证号", "日期", "是否开启"], "guide_app_template"),
    (["organizer_uscc", "group_code", "seq_no", "name", "doc_no"], "canonical:group_member"),
    (["organizer_uscc", "group_code", "group_type", "start_date"], "canonical:tour_group"),
    (["contract_code", "seq_no", "name"], "canonical:contract_tourist"),
])
def test_detection_picks_the_template_from_header_variants(headers, expected):
    assert detect_mapping(headers).name == expected


ROSTER = ["团号", "组团社统一社会信用代码", "团队类型", "线路名称", "出发日期", "返回日期", "游客人数", "团队状态",
          "序号", "姓名", "性别", "证件类型", "证件号码", "出生日期", "手机号", "领队证号"]


@pytest.mark.parametrize("first", ["団号", "团 号x", "", "\ufeff\ufeff团号", "\x00团号"])
def test_a_roster_whose_first_header_is_damaged_stays_a_roster(first, caplog):
    # its other headers match the 导游信息 template's three through aliases (领队证号, 证件号码):
    # the template knowing most of the file's headers wins over one whose few detect headers matched
    caplog.set_level("INFO", logger="mappings.detection")
    assert detect_mapping([first, *ROSTER[1:]]).name == "roster_template"
    if first.strip("\ufeff\x00") != "团号":
        assert "表头按「团队名单导入模板」识别，缺少必填表头：团号" in caplog.text  # says which it chose, and why


def test_a_template_whose_required_headers_all_match_is_preferred(caplog):
    caplog.set_level("INFO", logger="mappings.detection")
    assert detect_mapping(ROSTER).name == "roster_template"
    assert detect_mapping(["导游证号", "姓名", "身份证号", "性别", "手机号码", "更新时间"]).name == "guide_template"
    assert caplog.text == ""  # a full match needs no word


def test_detection_can_be_limited_to_an_entity():
    assert detect_mapping(["uscc", "name"], entity="travel_agency").name == "canonical:travel_agency"
    with pytest.raises(NoMappingFound):
        detect_mapping(["导游证号", "日期", "是否开启"], entity="tour_group")


def test_unknown_headers_raise_a_message_listing_what_was_expected():
    with pytest.raises(NoMappingFound) as caught:
        detect_mapping(["编号", "名字"])
    message = str(caught.value)
    assert "团队名单导入模板" in message and "团号" in message and "编号、名字" in message


def test_the_canonical_format_reads_pipe_separated_lists(received_at):
    frame = source_frame({"uscc": [USCC], "business_scope": ["OUTBOUND|DOMESTIC|OUTBOUND"]})
    out = detect_mapping(frame.headers).apply(frame, received_at=received_at, source="test")["travel_agency"]
    assert out["business_scope"].to_list() == [["DOMESTIC", "OUTBOUND"]]


def test_known_headers_cover_chinese_headers_aliases_and_field_names():
    headers = known_headers()
    assert {"团号", "团队编号", "游客姓名", "出团日期", "group_code", "doc_no", "是否开启"} <= headers


def test_every_mapping_name_loads():
    for name in ["roster_template", "contract_template", "agency_template", "guide_template",
                 "guide_app_template", "canonical:tour_group"]:
        assert load_mapping(name).entities
    with pytest.raises(KeyError, match="roster_template"):
        load_mapping("no_such_mapping")


def test_the_canonical_format_is_an_identity_for_typed_parquet_frames(received_at):
    from tourlink import schema
    from tourlink.frames import SourceFrame

    roster = load_mapping("roster_template").apply(source_frame(_roster()), received_at=received_at, source="sftp")
    for entity, mapped in roster.items():
        canonical = mapped.select(schema.entity(entity).field_names)
        again = detect_mapping(canonical.columns, entity=entity).apply(
            SourceFrame(data=canonical, file="x.parquet"), received_at=received_at, source="test")[entity]
        assert again.select(canonical.columns).equals(canonical), entity
        assert again["_issues"].list.len().sum() == 0


def test_a_group_row_with_an_unparseable_value_is_not_collapsed_into_one_without(received_at):
    columns = _roster(出发日期=[None, "2024-13-01", None])
    group = load_mapping("roster_template").apply(source_frame(columns), received_at=received_at, source="sftp")["tour_group"]
    assert group["_row"].to_list() == [2, 3]
    assert group["_issues"].to_list()[1][0]["rule"] == "TYPE"
