"""Fixtures for the API tests: a hand-built data set on disk and a TestClient over it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from blockanalytix_assets.api.app import create_app
from blockanalytix_tests.api.dataset import Dataset, build_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    return build_dataset(str(tmp_path_factory.mktemp("api-storage")))


@pytest.fixture(scope="module")
def client(dataset) -> TestClient:
    # raise_server_exceptions=False: a 500 must come back as JSON, as a real client would see it.
    return TestClient(create_app(dataset.root), raise_server_exceptions=False)
