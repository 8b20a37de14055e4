"""Airflow DAG: materialize feast feature views into the online store.

As in Feast's production guide, Airflow invokes the `feast` command line with a
BashOperator. The worker needs the `feast` binary on its PATH (or use the
container image with a KubernetesPodOperator), the feature repository synced to
FEATURE_REPO_DIR, and read/write access to the registry: materialization records
each view's interval in it.

Two patterns:
  * materialize_incremental: feast tracks the intervals. Each run loads from the
    end of the last recorded interval up to the run's data interval end.
  * materialize_window: Airflow tracks the intervals. Each run loads exactly its
    data interval [data_interval_start, data_interval_end] for one view, and can
    be backfilled or cleared and re-run safely (writes never overwrite newer data).

Concurrent runs for the same view are refused by feast's per-view lock
("materialization of <view> is already running"); max_active_runs=1 avoids them.
"""

import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

FEAST_ENV = {
    "FEATURE_REPO_DIR": "/opt/airflow/feature_repo",
    # Select the environment; secrets come from Airflow connections/variables.
    "REGISTRY_URL": "{{ var.value.feast_registry_url }}",
    "REDIS_CONNECTION_STRING": "{{ var.value.feast_redis_connection_string }}",
}

default_args = {
    "owner": "ml-platform",
    "retries": 2,
    "retry_delay": datetime.timedelta(minutes=5),
}

with DAG(
    dag_id="feast_materialize",
    description="Load the latest feature values into the feast online store",
    schedule="@hourly",
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["feast"],
) as dag:
    # Feast's guide uses datetime.now(); the data interval end is the same
    # instant for a scheduled run and stays correct for retries and backfills.
    materialize = BashOperator(
        task_id="materialize_incremental",
        bash_command="feast materialize-incremental {{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%S') }}",
        env=FEAST_ENV,
        append_env=True,
    )

    materialize_window = BashOperator(
        task_id="materialize_window",
        bash_command=(
            "feast materialize -v driver_hourly_stats "
            "{{ data_interval_start.strftime('%Y-%m-%dT%H:%M:%S') }} "
            "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%S') }}"
        ),
        env=FEAST_ENV,
        append_env=True,
    )

    # Fails the DAG run (exit status 2) when a view is still stale afterwards.
    check_freshness = BashOperator(
        task_id="check_freshness",
        bash_command="feast status --exit-code",
        env=FEAST_ENV,
        append_env=True,
    )

    # Sequential: the two tasks may touch the same view, and feast refuses a
    # second concurrent run of a view rather than interleaving writes.
    materialize_window >> materialize >> check_freshness
