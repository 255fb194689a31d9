"""The demo's training runs: a small hyper-parameter sweep tracked with the SDK."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import windlass

PROJECT = "demo-churn"
MODEL = "churn"


def _candidates() -> list[tuple[str, dict[str, Any], Callable[..., Any]]]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def logistic(c: float) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))

    return [
        *(
            (f"logreg-C{c}", {"model": "logistic_regression", "C": c}, lambda c=c: logistic(c))
            for c in (0.01, 0.1, 1.0)
        ),
        *(
            (
                f"forest-depth{d}",
                {"model": "random_forest", "max_depth": d, "n_estimators": 200},
                lambda d=d: RandomForestClassifier(
                    n_estimators=200, max_depth=d, random_state=0, n_jobs=1
                ),
            )
            for d in (4, 8)
        ),
        (
            "gboost-lr0.1",
            {"model": "gradient_boosting", "learning_rate": 0.1, "n_estimators": 150},
            lambda: GradientBoostingClassifier(learning_rate=0.1, n_estimators=150, random_state=0),
        ),
    ]


def train_models(log: Callable[[str], None] = print) -> str:
    """Train and track a sweep of churn models; return the parent run id."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    from windlass.demo.data import churn_frame

    windlass.set_project(PROJECT)
    frame = churn_frame()
    features, label = frame.drop(columns="churned"), frame["churned"]
    x_train, x_test, y_train, y_test = train_test_split(
        features, label, test_size=0.25, random_state=0, stratify=label
    )
    with windlass.start_run(name="churn-sweep") as parent, tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "churn.csv"
        frame.to_csv(data_path, index=False)
        windlass.log_artifact(data_path, artifact_path="data")
        windlass.log_params({"rows": len(frame), "test_size": 0.25})
        windlass.log_input(data_path, "churn", source="windlass.demo.data.churn_frame")
        for name, params, build in _candidates():
            with windlass.start_run(name=name, nested=True):
                windlass.log_params(params)
                windlass.log_input(x_train, "churn-train")
                windlass.log_input(x_test, "churn-test", context="evaluation")
                model = build().fit(x_train, y_train)
                if hasattr(model, "staged_predict_proba"):
                    for step, proba in enumerate(model.staged_predict_proba(x_test)):
                        windlass.log_metric("test_log_loss", log_loss(y_test, proba), step=step)
                proba = model.predict_proba(x_test)[:, 1]
                predicted = (proba >= 0.5).astype(int)
                metrics = {
                    "roc_auc": roc_auc_score(y_test, proba),
                    "accuracy": accuracy_score(y_test, predicted),
                    "f1": f1_score(y_test, predicted),
                    "log_loss": log_loss(y_test, proba),
                }
                windlass.log_metrics(metrics)
                report = Path(tmp) / f"{name}.txt"
                report.write_text("\n".join(f"{k}: {v:.4f}" for k, v in metrics.items()) + "\n")
                windlass.log_artifact(report, artifact_path="reports")
                windlass.set_tags({"family": params["model"]})
                windlass.log_model(model, "model", input_example=x_test[:5])
                log(f"  trained {name:<16} roc_auc={metrics['roc_auc']:.4f}")
        return parent.id


def register_best(run_id: str) -> windlass.ModelVersion:
    """Register the model of run ``run_id`` as a new version of ``churn``, aliased champion."""
    version = windlass.register_model(
        f"runs:/{run_id}/model", MODEL, description="best model of the demo sweep by roc_auc"
    )
    windlass.update_registered_model(
        MODEL, description="Predicts which customers churn.", card=_CARD, tags={"team": "demo"}
    )
    windlass.set_alias(MODEL, "champion", version.version)
    return version


_CARD = """# churn

Predicts whether a customer churns from tenure, plan, charges and support calls.

- **Data**: the synthetic churn table of `windlass demo` (see the version's lineage).
- **Metric**: ROC AUC on a 25% stratified hold-out.
- **Use**: ranking customers for retention offers; not for pricing decisions.
"""


DEPLOYMENT = "churn-prod"


def deploy_ab(challenger_run: str) -> str:
    """Register ``challenger_run``'s model as the challenger; split traffic 90/10."""
    from windlass.exceptions import AlreadyExists

    challenger = windlass.register_model(
        f"runs:/{challenger_run}/model", MODEL, description="runner-up of the demo sweep"
    )
    windlass.set_alias(MODEL, "challenger", challenger.version)
    variants = [
        {"name": "champion", "model_uri": f"models:/{MODEL}@champion", "weight": 90},
        {"name": "challenger", "model_uri": f"models:/{MODEL}@challenger", "weight": 10},
    ]
    try:
        windlass.create_deployment(
            DEPLOYMENT, variants, description="demo A/B: champion against challenger"
        )
    except AlreadyExists:  # the demo ran before on this home: reset the split
        windlass.set_deployment_variants(DEPLOYMENT, variants)
    return DEPLOYMENT


def traffic(requests: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Return ``requests`` (customer key, one feature row) pairs from the demo data."""
    from windlass.demo.data import churn_frame

    features = churn_frame().drop(columns="churned").head(requests)
    records = features.to_dict("records")
    return [
        (f"customer-{i}", [{str(k): v for k, v in row.items()}]) for i, row in enumerate(records)
    ]
