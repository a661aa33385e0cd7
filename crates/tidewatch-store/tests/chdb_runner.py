#!/usr/bin/env python3
"""Runs SQL steps on chdb's in-process current ClickHouse engine, for tests/current_clickhouse.rs.

Usage: python3 chdb_runner.py STEPS.json

STEPS.json is {"steps": [{"name": str, "database": str or null, "sql": str}, ...]}. The steps run
in order in one chdb Session over a temporary directory, so databases and tables persist from one
step to the next. A step with a "database" runs with that database selected (`USE`), as the store
runs its table statements; one without runs in whatever database is current, as the store runs
ping, version and CREATE/DROP DATABASE. A failing step does not stop the others.

Prints one JSON object on stdout:
  {"engine_version": str, "results": [{"name", "ok", "error", "rows"}, ...]}
where "rows" is the result's rows as lists (JSONCompact), [] for statements without a result.
Exit status: 0 when the steps ran (whether or not each succeeded: the caller judges), 3 when the
chdb module is missing (install it with `python3 -m pip install chdb-core`), 2 on bad usage.
"""

import json
import shutil
import sys
import tempfile

MISSING_CHDB = 3


def run_step(session, step, current_database):
    """Runs one step; returns (result, database selected afterwards)."""
    result = {"name": step["name"], "ok": False, "error": None, "rows": []}
    wanted = step.get("database")
    try:
        if wanted and wanted != current_database:
            session.query("USE `%s`" % wanted.replace("`", "``"))
            current_database = wanted
        output = str(session.query(step["sql"], "JSONCompact"))
        if output.strip():
            result["rows"] = json.loads(output)["data"]
        result["ok"] = True
    except Exception as error:  # chdb raises ChdbError; report any failure as the step's own
        result["error"] = "%s: %s" % (type(error).__name__, error)
    return result, current_database


def main(argv):
    if len(argv) != 2:
        print("usage: chdb_runner.py STEPS.json", file=sys.stderr)
        return 2
    try:
        from chdb import session as chdb_session
    except ImportError as error:
        print(
            "the chdb module is missing (%s); install it with: python3 -m pip install chdb-core"
            % error,
            file=sys.stderr,
        )
        return MISSING_CHDB
    with open(argv[1], encoding="utf-8") as steps_file:
        steps = json.load(steps_file)["steps"]
    data_dir = tempfile.mkdtemp(prefix="tidewatch-chdb-")
    session = chdb_session.Session(data_dir)
    try:
        engine_version = str(session.query("SELECT version()", "JSONCompact"))
        engine_version = json.loads(engine_version)["data"][0][0]
        results = []
        current_database = None
        for step in steps:
            result, current_database = run_step(session, step, current_database)
            results.append(result)
    finally:
        session.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    json.dump({"engine_version": engine_version, "results": results}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
