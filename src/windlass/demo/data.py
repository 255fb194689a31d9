"""A generated customer-churn dataset (deterministic; no download needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def churn_frame(rows: int = 4000, seed: int = 7) -> pd.DataFrame:
    """Return a churn table: customer features and a ``churned`` 0/1 label."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    monthly = rng.normal(65, 20, rows).clip(15, 150)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice([1, 12, 24], rows, p=[0.5, 0.3, 0.2])
    autopay = rng.random(rows) < 0.55
    usage_gb = rng.gamma(2.0, 15.0, rows)
    logit = (
        1.6
        - 0.045 * tenure
        + 0.025 * (monthly - 65)
        + 0.45 * calls
        - 0.06 * contract
        - 0.5 * autopay
        - 0.01 * usage_gb
        + rng.normal(0, 0.8, rows)
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly.round(2),
            "support_calls": calls,
            "contract_months": contract,
            "autopay": autopay.astype(int),
            "usage_gb": usage_gb.round(1),
            "churned": churned,
        }
    )
