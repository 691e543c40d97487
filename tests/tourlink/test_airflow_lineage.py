"""The OpenLineage datasets the DAGs declare: names by the OpenLineage naming spec, never a secret."""

from __future__ import annotations

from tourlink.airflow_lineage import source_dataset, warehouse_datasets


def _names(datasets) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def test_a_postgresql_warehouse_names_database_schema_and_table_without_its_password():
    url = "postgresql+psycopg://tourlink:s3cret@db.internal:6432/platform?options=-csearch_path%3Dtourlink,public"
    assert _names(warehouse_datasets(["tour_group", "group_member"], url)) == [
        ("postgres://db.internal:6432", "platform.tourlink.tour_group"),
        ("postgres://db.internal:6432", "platform.tourlink.group_member"),
    ]
    assert _names(warehouse_datasets(["guide"], "postgresql://u@127.0.0.1:5432/test")) == [
        ("postgres://127.0.0.1:5432", "test.public.guide")
    ]


def test_the_embedded_warehouse_is_named_by_its_file():
    assert _names(warehouse_datasets(["e_contract"], "sqlite:////srv/tourlink/warehouse.db")) == [
        ("sqlite:///srv/tourlink/warehouse.db", "main.e_contract")
    ]


def test_a_source_is_named_by_its_address_and_registry_name_never_its_credentials():
    source = source_dataset("acme_erp", "https://app:key@erp.acme.example:8443/openapi/v2", "signed-json")
    assert (source.namespace, source.name) == ("https://erp.acme.example:8443", "acme_erp")
    drop = source_dataset("upload_folder", "", "drop-folder")
    assert (drop.namespace, drop.name) == ("tourlink-source://drop-folder", "upload_folder")
