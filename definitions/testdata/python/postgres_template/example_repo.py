# Delivery couriers on PostgreSQL: a fixture in the style of the repository
# `feast init -t postgres` (Python) writes, written for this project's importer tests.

from datetime import timedelta

import pandas as pd

from feast import Entity, FeatureService, FeatureView, Field, PushSource, RequestSource
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float32, Float64, Int32, Int64
from feast.value_type import ValueType

WEEK = 7 * 86400
TABLE = "courier_" + "daily_stats"

courier = Entity(name="courier", join_keys=["courier_id"], value_type=ValueType.INT64)

courier_stats_source = PostgreSQLSource(
    name="courier_daily_stats_source",
    query="SELECT * FROM " + TABLE,
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

zone_source = PostgreSQLSource(
    name="zone_load_source",
    table="zone_load",
    timestamp_field="event_timestamp",
)

zone = Entity(name="zone", join_keys=["zone_id"], value_type=ValueType.INT32)

courier_stats_fv = FeatureView(
    name="courier_daily_stats",
    entities=[courier],
    ttl=timedelta(seconds=WEEK * 2 - 86400 / 2),
    schema=[
        Field(name="deliveries", dtype=Int64),
        Field(name="on_time_rate", dtype=Float32),
        Field(name="avg_distance_km", dtype=Float32),
    ],
    online=True,
    source=courier_stats_source,
    tags={"team": "dispatch"},
    version="latest",
)

zone_load_fv = FeatureView(
    name="zone_load",
    entities=[zone],
    ttl=timedelta(hours=1) + timedelta(minutes=15) * 2,
    schema=[
        Field(name="zone_id", dtype=Int32),
        Field(name="open_orders", dtype=Int64),
    ],
    source=zone_source,
)

pickup_request = RequestSource(
    name="pickup_request",
    schema=[Field(name="distance_km", dtype=Float64)],
)


@on_demand_feature_view(
    sources=[courier_stats_fv, pickup_request],
    schema=[Field(name="expected_minutes", dtype=Float64)],
)
def expected_minutes(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["expected_minutes"] = inputs["distance_km"] / (inputs["on_time_rate"] + 0.1)
    return out


courier_stats_push = PushSource(
    name="courier_stats_push",
    batch_source=courier_stats_source,
)

courier_stats_live_fv = FeatureView(
    name="courier_daily_stats_live",
    entities=[courier],
    ttl=timedelta(minutes=WEEK % 3600 + 15),
    schema=[Field(name="deliveries", dtype=Int64)],
    source=courier_stats_push,
)

dispatch_v1 = FeatureService(
    name="dispatch_v1",
    features=[
        courier_stats_fv[["deliveries", "on_time_rate"]],
        zone_load_fv[["open_orders"]],
    ],
)

dispatch_v2 = FeatureService(
    name="dispatch_v2",
    features=[courier_stats_live_fv, expected_minutes],
    description="Live statistics and the expected time",
)
