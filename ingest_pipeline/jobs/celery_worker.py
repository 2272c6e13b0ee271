"""The Celery app the workers run: `celery -A ingest_pipeline.jobs.celery_worker worker -Q <queue>`.

dagster-celery's step task on an app built from the settings exactly as the executor builds its
own (jobs/cluster.py), so both sides agree on broker, backend and queue settings. The code
location is imported here, before the worker forks its processes, so each step starts from a
process that already holds Dagster, sqlglot and the job instead of importing them again.
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from ingest_pipeline.jobs.cluster import app_args

app = make_app(app_args())
execute_plan = create_task(app)

import ingest_pipeline.definitions  # noqa: E402,F401 - preloaded for the forked worker processes
