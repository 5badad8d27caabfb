-- When a periodic job last ran on any hub of this database, so that with several hubs it runs
-- once per interval, not once per hub (hub/purge.py).
CREATE TABLE IF NOT EXISTS task_runs (
    name TEXT PRIMARY KEY, last_run_at TEXT NOT NULL
);
