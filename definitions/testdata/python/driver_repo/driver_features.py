from datetime import timedelta

import pandas as pd

from feast import FeatureService, FeatureView, Field, Project
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Array, Float32, Float64, Int64, String

from driver_sources import driver, request_values, trip_stats_file, trip_stats_push

project = Project(name="driver_demo", description="Driver statistics")

hourly_stats = FeatureView(
    name="driver_hourly_stats",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[
        Field(name="driver_id", dtype=Int64),
        Field(name="conv_rate", dtype=Float32),
        Field(name="acc_rate", dtype=Float32),
        Field(name="avg_daily_trips", dtype=Int64, description="Trips per day, on average"),
        Field(name="zones", dtype=Array(String)),
    ],
    online=True,
    source=trip_stats_file,
    tags={"team": "driver_performance"},
)

fresh_stats = FeatureView(
    name="driver_hourly_stats_fresh",
    entities=[driver],
    ttl=timedelta(hours=2, minutes=30),
    schema=[
        Field(name="conv_rate", dtype=Float32),
        Field(name="acc_rate", dtype=Float32),
    ],
    online=True,
    source=trip_stats_push,  # pushed rows reach the online store at once
    tags={"team": "driver_performance"},
)


@on_demand_feature_view(
    sources=[hourly_stats, request_values],
    schema=[
        Field(name="conv_rate_plus_val1", dtype=Float64),
        Field(name="conv_rate_plus_val2", dtype=Float64),
    ],
)
def conv_rate_plus(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["conv_rate_plus_val1"] = inputs["conv_rate"] + inputs["val_to_add"]
    out["conv_rate_plus_val2"] = inputs["conv_rate"] + inputs["val_to_add_2"]
    return out


driver_activity_v1 = FeatureService(
    name="driver_activity_v1",
    features=[
        hourly_stats[["conv_rate"]],
        conv_rate_plus,
    ],
)

driver_activity_v2 = FeatureService(
    name="driver_activity_v2",
    features=[hourly_stats, fresh_stats[["acc_rate"]]],
    description="Every hourly statistic",
)

driver_activity_v3 = FeatureService(
    name="driver_activity_v3",
    features=[hourly_stats.with_name("stats").with_join_key_map({"driver_id": "courier_id"})],
)
