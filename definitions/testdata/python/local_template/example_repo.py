# Card payments: a fixture in the style of the repository `feast init` (Python)
# writes for the local template, written for this project's importer tests.

from datetime import timedelta

import pandas as pd

from feast import (
    Entity,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    PushSource,
    RequestSource,
)
from feast.feature_logging import LoggingConfig
from feast.infra.offline_stores.file_source import FileLoggingDestination
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float32, Float64, Int64, String

# The card a payment is made with: the key the views below are read by.
card = Entity(name="card", join_keys=["card_id"], description="A payment card")

merchant = Entity(name="merchant", join_keys=["merchant_id"])

payment_history = FileSource(
    name="card_payments_source",
    path="data/card_payments.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

ONE_DAY = 86400

# Per-card statistics, kept a day (written as a product, as templates do).
card_stats_fv = FeatureView(
    name="card_payment_stats",
    entities=[card],
    ttl=timedelta(seconds=86400 * 1),
    schema=[
        Field(name="card_id", dtype=Int64),
        Field(name="spend_1h", dtype=Float32),
        Field(name="declines_1h", dtype=Int64),
        Field(name="country", dtype=String, description="Where the card was issued"),
    ],
    online=True,
    source=payment_history,
    tags={"team": "risk"},
)

# A view over an inline source without a name: Feast names it after the path.
merchant_stats_fv = FeatureView(
    name="merchant_stats",
    entities=[merchant],
    ttl=timedelta(days=1) * 2,
    schema=[
        Field(name="merchant_id", dtype=String),
        Field(name="chargeback_rate", dtype=Float32),
    ],
    source=FileSource(path="data/merchant_stats.parquet", timestamp_field="event_timestamp"),
)

# Values only the caller knows: they come with each request.
checkout_request = RequestSource(
    name="checkout_request",
    schema=[
        Field(name="amount", dtype=Float64),
        Field(name="item_count", dtype=Int64),
    ],
)


@on_demand_feature_view(
    sources=[card_stats_fv, checkout_request],
    schema=[
        Field(name="amount_vs_spend", dtype=Float64),
    ],
)
def amount_vs_spend(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["amount_vs_spend"] = inputs["amount"] / (inputs["spend_1h"] + 1.0)
    return out


@on_demand_feature_view(
    sources=[card_stats_fv[["spend_1h"]], checkout_request],
    schema=[Field(name="amount_plus_spend", dtype=Float64)],
    mode="python",
)
def amount_plus_spend(inputs: dict) -> dict:
    return {"amount_plus_spend": [a + s for a, s in zip(inputs["amount"], inputs["spend_1h"])]}


# Fresh rows can be pushed straight to the online store; history stays in the file.
card_payments_push = PushSource(
    name="card_payments_push",
    batch_source=payment_history,
)

card_stats_fresh_fv = FeatureView(
    name="card_payment_stats_fresh",
    entities=[card],
    ttl=timedelta(seconds=ONE_DAY // 4 + 30 * 60),
    schema=[
        Field(name="spend_1h", dtype=Float32),
        Field(name="declines_1h", dtype=Int64),
    ],
    online=True,
    source=card_payments_push,
    tags={"team": "risk"},
)

# A model's features: part of one view and all of another.
fraud_model_v1 = FeatureService(
    name="fraud_model_v1",
    features=[
        card_stats_fv[["spend_1h", "declines_1h"]],
        merchant_stats_fv,
    ],
    logging_config=LoggingConfig(
        destination=FileLoggingDestination(path="data/logged_features")
    ),
)

fraud_model_v2 = FeatureService(
    name="fraud_model_v2", features=[card_stats_fresh_fv, amount_vs_spend]
)
