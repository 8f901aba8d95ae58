from tests.engine_fixtures import *  # noqa: F403  (task_worker, start_chorus, engine_env, ...)
