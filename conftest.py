"""Shared fixtures: the devnet (anvil) or its replayed answers, a real MLflow server, a headless browser."""

pytest_plugins = [
    "pytester",
    "blockanalytix_tests.plugins.integration",
    "blockanalytix_tests.plugins.replay",
    "blockanalytix_tests.plugins.devnet",
    "blockanalytix_tests.plugins.mlflow_server",
    "blockanalytix_tests.plugins.browser",
    "blockanalytix_tests.plugins.postgres",
    "blockanalytix_tests.plugins.s3",
]
