"""deployment/dagster.prod.yaml: a valid instance with Postgres storage, a run queue and the rpc pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster_postgres.utils import pg_config, pg_url_from_config

REPO = Path(__file__).resolve().parents[2]
PROD_YAML = REPO / "deployment" / "dagster.prod.yaml"
PG_ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "6543",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "s3cr3t-value",
    "DAGSTER_PG_DB": "dagster_prod",
}


@pytest.fixture
def pg_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    return PG_ENV


def _load() -> dict:
    return yaml.safe_load(PROD_YAML.read_text())


def test_prod_yaml_passes_dagster_instance_schema(tmp_path: Path, pg_env: dict[str, str]) -> None:
    (tmp_path / "dagster.yaml").write_text(PROD_YAML.read_text())
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_launcher"]["class"] == "DefaultRunLauncher"


def test_postgres_settings_come_from_env_only(pg_env: dict[str, str]) -> None:
    raw = _load()["storage"]["postgres"]
    db = raw["postgres_db"]
    # Every connection field is an env reference: no host or credential is written in the file.
    assert all(isinstance(v, dict) and set(v) == {"env"} for v in db.values()), db
    assert {v["env"] for v in db.values()} == set(PG_ENV)
    processed = process_config(pg_config(), raw)
    assert processed.success, processed.errors
    url = pg_url_from_config(processed.value)
    assert url.startswith("postgresql://dagster:")
    assert url.endswith("@db.internal:6543/dagster_prod")
    assert "s3cr3t-value" not in PROD_YAML.read_text()


def test_queue_and_rpc_pool_take_effect_in_a_real_instance(tmp_path: Path) -> None:
    # Same file with SQLite in place of Postgres (the lead's Postgres test covers the storage).
    config = _load()
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        concurrency = instance.get_concurrency_config()
        expected = config["concurrency"]
        assert concurrency.pool_config.default_pool_limit == expected["pools"]["default_limit"]
        assert concurrency.pool_config.default_pool_limit > 0
        queue = concurrency.run_queue_config
        assert queue.max_concurrent_runs == expected["runs"]["max_concurrent_runs"]
        keys = {limit["key"] for limit in queue.tag_concurrency_limits}
        assert {"dagster/backfill", "blockanalytix/gpu"} <= keys
        # The rpc pool is unconfigured, so it falls back to the default limit.
        info = instance.event_log_storage.get_concurrency_info("rpc")
        assert info.limit == expected["pools"]["default_limit"]
        assert info.using_default_limit
