# SparkSource in its shapes: an Iceberg table through table_format (catalog,
# namespace, snapshot pin, catalog properties), Parquet files by path, and a
# plain Spark table, which only Spark can read.
from datetime import timedelta

from feast import Entity, FeatureView, Field
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.table_format import DeltaFormat, IcebergFormat
from feast.types import Float32, Int64

driver = Entity(name="driver", join_keys=["driver_id"])

driver_stats_source = SparkSource(
    name="driver_stats",
    table="driver_hourly_stats",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
    table_format=IcebergFormat(
        catalog="lake",
        namespace="features",
        properties={"snapshot-id": "8744736658442914487", "warehouse": "s3://lake/warehouse"},
    ),
    description="Hourly driver statistics (Iceberg)",
)

trips_source = SparkSource(
    name="trips",
    path="s3://bucket/trips/",
    file_format="parquet",
    timestamp_field="ts",
)

# Feast's path form: with a table format, path names the table, and the
# snapshot pin is applied.
rides_as_of = SparkSource(
    name="rides",
    path="lake.ops.rides",
    timestamp_field="ts",
    table_format=IcebergFormat(
        catalog="lake",
        catalog_properties={"type": "rest", "uri": "${ICEBERG_URI}"},
        table_properties={"as-of-timestamp": "1767225600000", "iceberg.catalog": "lake"},
    ),
)

delta_source = SparkSource(name="delta_stats", path="s3://bucket/delta/", table_format=DeltaFormat(), timestamp_field="ts")

csv_file = SparkSource(name="csv_file", path="s3://bucket/exports/stats.csv", file_format="csv", timestamp_field="ts")

csv_folder = SparkSource(name="csv_folder", path="s3://bucket/exports/", file_format="csv", timestamp_field="ts")

hive_source = SparkSource(name="hive_stats", table="db.stats", timestamp_field="ts")

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[Field(name="conv_rate", dtype=Float32), Field(name="trips_today", dtype=Int64)],
    source=driver_stats_source,
)

trips = FeatureView(
    name="trips",
    entities=[driver],
    ttl=timedelta(days=7),
    schema=[Field(name="distance", dtype=Float32)],
    source=trips_source,
)

hive_stats = FeatureView(
    name="hive_stats",
    entities=[driver],
    ttl=timedelta(days=1),
    schema=[Field(name="score", dtype=Float32)],
    source=hive_source,
)
