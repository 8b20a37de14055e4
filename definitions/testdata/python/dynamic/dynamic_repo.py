import os
from datetime import timedelta

from feast import BigQuerySource, Entity, FeatureView, Field, FileSource
from feast.types import Float32, Int64, String

from helpers import make_view

DATA_DIR = os.environ.get("DATA_DIR", "data")

customer = Entity(name="customer", join_keys=["customer_id"])

# A computed path: written with a placeholder and listed.
orders = FileSource(
    name="orders",
    path=os.path.join(DATA_DIR, "orders.parquet"),
    timestamp_field="ts",
)

warehouse = BigQuerySource(name="wh", table="proj.ds.orders", timestamp_field="ts")

order_stats = FeatureView(
    name="order_stats",
    entities=[customer],
    ttl=timedelta(days=7),
    schema=[Field(name=f"total_{n}", dtype=Float32) for n in ("a", "b")],
    source=orders,
    tags={"owner": f"{DATA_DIR}-team"},
)

wh_stats = FeatureView(
    name="wh_stats",
    entities=[customer],
    schema=[Field(name="spend", dtype=Float32)],
    source=warehouse,
)

generated = make_view("generated")

unknown_ref = FeatureView(
    name="unknown_ref",
    entities=[customer],
    schema=[Field(name="spend", dtype=Int64)],
    source=missing_source,
)

for region in ["eu", "us"]:
    globals()[region] = Entity(name=region, join_keys=["id"])

# Read, but with an f-string description and an argument YAML has no field for.
basket_stats = FeatureView(
    name="basket_stats",
    entities=["customer"],
    ttl=timedelta(seconds=3600),
    schema=[Field(name="customer_id", dtype=String), Field(name="basket", dtype=Float32)],
    source=orders,
    description=f"Baskets from {DATA_DIR}",
    enable_validation=True,
)
