"""The deployments SDK, embedded and against a real server: the same calls, the same answers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import windlass
from windlass.client import default_client
from windlass.entities import Variant
from windlass.exceptions import (
    Conflict,
    DeploymentNotFound,
    InvalidInput,
    InvalidState,
    ModelNotFound,
)
from windlass.serving import fluent as sdk


@pytest.fixture(params=["embedded", "server"])
def churn(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project holding ``churn`` versions 1 and 2 (champion: 1); yields the project name."""
    uri = None if request.param == "embedded" else request.getfixturevalue("server").url
    windlass.set_tracking_uri(uri)
    project = f"deploy-sdk-{request.param}-{request.node.name[-24:]}".replace("[", "-").replace(
        "]", ""
    )
    # The current project comes from the environment, and is not left behind for others.
    default_client().project = None
    monkeypatch.setenv("WINDLASS_PROJECT", project)
    frame = pd.DataFrame({"x": np.arange(20.0)})
    label = (frame.x > 9).astype(int)
    for c in (1.0, 0.1):
        with windlass.start_run():
            windlass.log_model(
                LogisticRegression(C=c).fit(frame, label),
                name="model",
                registered_model_name="churn",
            )
    windlass.set_alias("churn", "champion", 1)
    yield project
    windlass.set_tracking_uri(None)


def test_deployment_lifecycle(churn: str) -> None:
    created = sdk.create_deployment(
        "churn-prod",
        [
            Variant("champion", "models:/churn@champion", 90),
            {"name": "challenger", "model_uri": "models:/churn/2", "weight": 10},
        ],
        shadow=Variant("shadow", "models:/churn@latest"),
        description="A/B",
    )
    assert created.revision == 1 and created.shadow is not None
    assert sdk.get_deployment("churn-prod") == created
    assert sdk.get_deployment("churn-prod", project=churn) == created
    assert [d.name for d in sdk.list_deployments()] == ["churn-prod"]
    weighed = sdk.set_deployment_weights("churn-prod", {"challenger": 30})
    assert [v.weight for v in weighed.variants] == [90.0, 30.0]
    with pytest.raises(Conflict):
        sdk.set_deployment_weights("churn-prod", {"challenger": 50}, expected_revision=1)
    assert sdk.set_deployment_shadow("churn-prod", None).shadow is None
    # Given without a weight (a mapping without "weight"): all the traffic. A Variant
    # always carries its weight, and weight 0 alone is refused rather than changed.
    with pytest.raises(InvalidInput, match="positive sum, got solo=0"):
        sdk.set_deployment_variants("churn-prod", [Variant("solo", "models:/churn/2")])
    replaced = sdk.set_deployment_variants(
        "churn-prod",
        [{"name": "solo", "model_uri": "models:/churn/2"}],
        shadow=Variant("s", "models:/churn/1"),
    )
    assert [(v.name, v.weight) for v in replaced.variants] == [("solo", 100.0)]
    kept = sdk.set_deployment_variants("churn-prod", [Variant("solo", "models:/churn/1", 1)])
    assert kept.shadow == Variant("s", "models:/churn/1", 0.0)
    promoted = sdk.promote_deployment("churn-prod", "s")
    assert [(v.name, v.weight) for v in promoted.variants] == [("solo", 0.0), ("s", 100.0)]
    back = sdk.rollback_deployment("churn-prod")
    assert back.variants == kept.variants and back.shadow == kept.shadow
    first = sdk.rollback_deployment("churn-prod", to_revision=1)
    assert (first.variants, first.shadow) == (created.variants, created.shadow)
    history = sdk.get_deployment_history("churn-prod")
    assert [e.action for e in history] == [
        "create",
        "set_weights",
        "set_shadow",
        "set_variants",
        "set_variants",
        "promote",
        "rollback",
        "rollback",
    ]
    assert [e.revision for e in history] == list(range(1, 9))
    assert [e.revision for e in sdk.get_deployment_history("churn-prod", max_results=2)] == [7, 8]
    sdk.delete_deployment("churn-prod")
    with pytest.raises(DeploymentNotFound):
        sdk.get_deployment("churn-prod")
    assert sdk.list_deployments() == []


def test_errors_are_the_same_in_both_modes(churn: str) -> None:
    with pytest.raises(ModelNotFound, match="variant 'a'"):
        sdk.create_deployment("bad", [Variant("a", "models:/chrun/1", 1)])
    sdk.create_deployment("once", [Variant("a", "models:/churn/1", 1)])
    with pytest.raises(InvalidState, match="nothing to roll back"):
        sdk.rollback_deployment("once")
    with pytest.raises(DeploymentNotFound):
        sdk.promote_deployment("nobody", "a")
