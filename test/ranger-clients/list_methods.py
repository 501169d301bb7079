"""Reports every public method of Apache Ranger's RangerClient, one JSON line each (no server call),
so a test can check that docs/compat.md's table lists them all."""
import inspect
import json

from apache_ranger.client.ranger_client import RangerClient

for name, _ in inspect.getmembers(RangerClient, inspect.isfunction):
    if not name.startswith("_"):
        print(json.dumps({"method": name, "ok": True}), flush=True)
