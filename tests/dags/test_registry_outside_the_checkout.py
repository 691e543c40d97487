"""`TOURLINK_SOURCES` / `TOURLINK_MAPPINGS`: a deployment's registry and mappings live outside the
installed code, and the nightly DAGs, their steps and the CLI read them from there."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from connectors import registry
from tests.dags.conftest import night, nightly_dag, task_states, xcom
from tourlink.cli import app

PACKAGE_SOURCES = registry.SOURCES_DIR


def test_a_dag_run_picks_up_a_source_file_from_a_registry_folder_outside_the_checkout(
    airflow_metadata, tourlink_home, sandbox_registry, tmp_path, monkeypatch
):
    box = sandbox_registry.start("sandbox_signed_json")  # the sandbox on a free port, registered in tmp
    outside = tmp_path / "deployment"
    (outside / "sources").mkdir(parents=True)
    (outside / "mappings").mkdir()
    spec = yaml.safe_load((sandbox_registry.folder / "sandbox_signed_json.yaml").read_text(encoding="utf-8"))
    spec.update(name="provincial_erp", mapping="provincial_erp_mapping")
    (outside / "sources" / "provincial_erp.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    mapping = yaml.safe_load((registry.Path(registry.__file__).parent.parent / "mappings" / "sources" / "signed_json.yaml")
                             .read_text(encoding="utf-8"))
    mapping["name"] = "provincial_erp_mapping"
    (outside / "mappings" / "provincial_erp_mapping.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True),
                                                                      encoding="utf-8")
    monkeypatch.setattr(registry, "SOURCES_DIR", PACKAGE_SOURCES)  # only the settings point outside
    monkeypatch.setenv("TOURLINK_SOURCES", str(outside / "sources"))
    monkeypatch.setenv("TOURLINK_MAPPINGS", str(outside / "mappings"))

    listed = CliRunner().invoke(app, ["sources", "list"])
    assert listed.exit_code == 0 and "provincial_erp" in listed.output and "sftp_sandbox" not in listed.output

    run = nightly_dag("provincial_erp").test(logical_date=night(2026, 11, 22))
    states = task_states(run)
    assert str(run.state) == "success", states
    merged = xcom(run, "merge")["entities"]
    assert merged["tour_group"]["loaded"] == len(box.sandbox.ground_truth()["tour_group"]) > 0
