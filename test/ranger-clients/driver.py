"""Shared harness of the Ranger client drivers.

Each driver calls Apache Ranger's own Python client against a running Gatehouse and reports every
call as one JSON line: {"method": ..., "ok": true|false, "error": ...}. A call is ok only when the
assertions the driver makes on its result hold, never merely because it raised nothing.
"""
import json
import os
import sys
import traceback

URL = os.environ["GATEHOUSE_URL"]
AUTH = (os.environ["GATEHOUSE_USER"], os.environ["GATEHOUSE_PASSWORD"])


def check(method):
    """Runs the decorated function at once and reports it under `method`; returns its result or None."""

    def run(fn):
        try:
            result = fn()
            print(json.dumps({"method": method, "ok": True}), flush=True)
            return result
        except Exception as err:  # report, go on with the next call
            detail = "".join(traceback.format_exception_only(type(err), err)).strip()
            print(json.dumps({"method": method, "ok": False, "error": detail[:2000]}), flush=True)
            return None

    return run


def expect(condition, message):
    """An assertion that survives `python -O`."""
    if not condition:
        raise AssertionError(message)


def done():
    sys.stdout.flush()
