"""Where the driver statistics come from (a fixture in the style of Feast's
local template, written for this project's importer tests)."""

from feast import Entity, Field, FileSource, PushSource, RequestSource, ValueType
from feast.types import Int64

# The driver is the key every view below is looked up by.
driver = Entity(
    name="driver",
    join_keys=["driver_id"],
    description="A driver of the fleet",
)

trip_stats_file = FileSource(
    name="driver_hourly_stats_source",
    path="data/driver_stats.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)

# Fresh rows can be pushed; history lands in the file above.
trip_stats_push = PushSource(
    name="driver_stats_push_source",
    batch_source=trip_stats_file,
)

request_values = RequestSource(
    name="vals_to_add",
    schema=[
        Field(name="val_to_add", dtype=Int64),
        Field(name="val_to_add_2", dtype=Int64),
    ],
)

rider = Entity(name="rider", join_keys=["rider_id"], value_type=ValueType.STRING)
