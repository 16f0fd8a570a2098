"""The model registry: every spec builds its model, code versions follow settings, registry names resolve."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from blockanalytix_assets.ml.specs import MODELS, model
from blockanalytix_assets.resources import MlflowResource


def test_every_spec_builds_its_model_from_its_params():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=(300, 6)).astype(np.float32)
    for spec in MODELS:
        if spec.config == "forecaster":
            built = spec.builder(8, 2, x_train=rng.random((40, 8, 2), dtype=np.float32), **spec.params)
        else:
            built = spec.builder(x, **spec.params)
        assert isinstance(built, keras.Model), spec.asset
        assert built.name == spec.asset  # the builders name their models after the asset


class _Trainer:
    def __call__(self, *args: object, **kwargs: object) -> None:
        return None


def test_code_version_changes_with_settings_and_version_only():
    spec = model("anomaly_classifier")
    assert dataclasses.replace(spec).code_version == spec.code_version
    changed = [
        dataclasses.replace(spec, params={**spec.params, "dropout": 0.2}),
        dataclasses.replace(spec, batch_size=1024),
        dataclasses.replace(spec, patience=3),
        dataclasses.replace(spec, version="2"),
        dataclasses.replace(spec, builder=model("address_risk_model").builder),
        dataclasses.replace(spec, trainer=_Trainer()),  # a callable object (tests' fakes) names its class
    ]
    assert len({spec.code_version, *(c.code_version for c in changed)}) == 1 + len(changed)
    assert len({s.asset for s in MODELS}) == len({s.registered_name for s in MODELS}) == len(MODELS)
    with pytest.raises(KeyError, match="no model spec 'nope'"):
        model("nope")


def test_registry_names_keep_the_old_fields_and_take_new_models():
    new = dataclasses.replace(model("anomaly_classifier"), asset="new_model", registered_name="new-model")
    default = MlflowResource(tracking_uri="http://127.0.0.1:5000")
    assert [default.registered_name(s) for s in MODELS] == [s.registered_name for s in MODELS]
    assert default.classifier_model_name == "blockanalytix-anomaly-classifier"  # the contract
    custom = MlflowResource(tracking_uri="http://127.0.0.1:5000", address_model_name="addr")
    assert custom.registered_name(model("address_risk_model")) == "addr"
    assert custom.registered_name(new) == default.registered_name(new) == "new-model"
