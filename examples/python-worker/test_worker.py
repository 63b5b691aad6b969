# Unit tests of the Python reference worker: offsets, cancels, decoding, and every outgoing message against docs/schemas.
"""Run: /usr/bin/python3 -m unittest discover -s examples/python-worker -v (no broker needed)."""
import json
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "docs", "schemas")
sys.path.insert(0, HERE)

import worker as w  # noqa: E402

try:  # Debian's python3-jsonschema when installed; otherwise the small checker below
    import jsonschema  # type: ignore
except ImportError:  # pragma: no cover
    jsonschema = None


def load_schema(name):
    with open(os.path.join(SCHEMAS, "%s.v1.json" % name)) as f:
        return json.load(f)


TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def problems(schema, value, at="$"):
    """The draft-07 keywords docs/schemas use (type, const, enum, required, properties, items,
    min/max, minLength/maxLength, allOf with if/then); enough to check messages without jsonschema."""
    out = []
    t = schema.get("type")
    if t is not None:
        ok = False
        for one in (t if isinstance(t, list) else [t]):
            if one == "integer":
                ok |= isinstance(value, int) and not isinstance(value, bool)
            elif one == "number":
                ok |= isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                ok |= isinstance(value, TYPES[one])
        if not ok:
            return ["%s: expected %s, got %r" % (at, t, value)]
    if "const" in schema and value != schema["const"]:
        out.append("%s: expected %r" % (at, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        out.append("%s: %r not in %r" % (at, value, schema["enum"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append("%s: below %s" % (at, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            out.append("%s: above %s" % (at, schema["maximum"]))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append("%s: shorter than %d" % (at, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append("%s: longer than %d" % (at, schema["maxLength"]))
    if isinstance(value, dict):
        for k in schema.get("required", []):
            if k not in value:
                out.append("%s: missing %s" % (at, k))
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                out += problems(sub, value[k], "%s.%s" % (at, k))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += problems(schema["items"], item, "%s[%d]" % (at, i))
    for sub in schema.get("allOf", []):
        if "if" in sub and not problems(sub["if"], value, at):
            out += problems(sub.get("then", {}), value, at)
    return out


class SchemaCase(unittest.TestCase):
    def assertValid(self, name, message):
        schema = load_schema(name)
        if jsonschema is not None:
            jsonschema.validate(message, schema)
        self.assertEqual(problems(schema, message), [], json.dumps(message))


class FakeWorker(w.Worker):
    """The real Worker with publish() captured: no broker, every message kept (topic, key, parsed value)."""

    def __init__(self, **env):
        cfg = w.Config({"KAFKA_BROKERS": "127.0.0.1:1", "WORKER_ID": "py-test", **env})
        super().__init__(cfg)
        self.sent = []

    def publish(self, topic, key, value, on_ack=None, headers=None):
        self.sent.append((topic, key, json.loads(value)))
        if on_ack:
            on_ack(None)


def dispatch(**over):
    now = w.now_ms()
    msg = {"v": 1, "task_id": "t-1", "attempt": 1, "template_id": "tpl", "template_name": "tpl",
           "executor": "py-echo", "queue": "default", "params": {"a": 1}, "param_schema": None,
           "timeout_ms": 10_000, "deadline": now + 10_000, "queued_at": now}
    msg.update(over)
    return msg


class OffsetTrackerTest(unittest.TestCase):
    def test_commits_only_the_contiguous_done_prefix(self):
        t = w.OffsetTracker()
        for o in (5, 6, 7):
            t.start(o)
        t.finish(6)
        self.assertEqual(t.position(), 5)  # 5 still running: nothing past it may be committed
        t.finish(5)
        self.assertEqual(t.position(), 7)
        t.finish(7)
        self.assertEqual(t.position(), 8)

    def test_reports_no_position_once_it_was_committed(self):
        t = w.OffsetTracker()
        t.start(0)
        t.finish(0)
        t.committed = t.position()
        self.assertIsNone(t.position())


class RunTaskTest(SchemaCase):
    def setUp(self):
        self.worker = FakeWorker()

    def tearDown(self):
        self.worker.pool.shutdown(wait=False)

    def results(self):
        return [m for topic, key, m in self.worker.sent if topic == "task_results"]

    def test_py_echo_sends_started_then_succeeded_with_the_params_keyed_by_task_id(self):
        self.worker.run_task(dispatch(), ("d", 0, 3, 0))
        self.assertEqual([m["type"] for m in self.results()], ["started", "succeeded"])
        self.assertEqual(self.results()[-1]["result"], {"a": 1})
        self.assertEqual({key for _, key, _ in self.worker.sent}, {"t-1"})
        self.assertEqual(self.worker.done.get_nowait(), ("d", 0, 3, 0))
        for m in self.results():
            self.assertValid("result", m)

    def test_py_progress_reports_progress_between_started_and_succeeded(self):
        self.worker.run_task(dispatch(executor="py-progress", params={"steps": 2, "delay_ms": 1}), ("d", 0, 0, 0))
        types = [m["type"] for m in self.results()]
        self.assertEqual(types, ["started", "progress", "progress", "succeeded"])
        self.assertEqual([m["pct"] for m in self.results() if m["type"] == "progress"], [50, 100])
        for m in self.results():
            self.assertValid("result", m)

    def test_unknown_executor_fails_not_retryable(self):
        self.worker.run_task(dispatch(executor="nope"), ("d", 0, 0, 0))
        [failed] = self.results()
        self.assertEqual(failed["type"], "failed")
        self.assertEqual(failed["error"]["code"], "executor_not_found")
        self.assertFalse(failed["error"]["retryable"])
        self.assertValid("result", failed)

    def test_a_cancel_that_arrived_before_the_dispatch_skips_the_run(self):
        msg = dispatch()
        self.worker.cancels.cancel("t-1", None, msg["queued_at"] + 1)
        self.worker.run_task(msg, ("d", 0, 0, 0))
        [canceled] = self.results()
        self.assertEqual(canceled["type"], "canceled")
        self.assertValid("result", canceled)

    def test_a_cancel_aborts_a_running_task(self):
        msg = dispatch(executor="sleep", params={"ms": 60_000})
        th = threading.Thread(target=self.worker.run_task, args=(msg, ("d", 0, 0, 0)))
        th.start()
        while not self.results():
            time.sleep(0.01)
        self.worker.cancels.cancel("t-1", 1, w.now_ms())
        th.join(10)
        self.assertEqual([m["type"] for m in self.results()], ["started", "canceled"])
        self.assertValid("result", self.results()[-1])

    def test_a_passed_deadline_times_out(self):
        self.worker.run_task(dispatch(deadline=w.now_ms() - 1), ("d", 0, 0, 0))
        [timed_out] = self.results()
        self.assertEqual(timed_out["type"], "timed_out")
        self.assertValid("result", timed_out)

    def test_heartbeat_matches_the_schema_and_is_keyed_by_worker_id(self):
        self.worker.heartbeat(stopping=True)
        [(topic, key, hb)] = self.worker.sent
        self.assertEqual((topic, key), ("task_worker_heartbeats", "py-test"))
        self.assertIn("py-progress", hb["executors"])
        self.assertTrue(hb["stopping"])
        self.assertValid("heartbeat", hb)


class DecodeTest(SchemaCase):
    def test_accepts_a_schema_valid_dispatch(self):
        msg = dispatch()
        self.assertValid("dispatch", msg)
        self.assertEqual(w.decode_dispatch(json.dumps(msg).encode())[0], msg)

    def test_refuses_non_json_and_missing_fields_with_a_reason(self):
        self.assertRegex(w.decode_dispatch(b"{oops")[1], "not JSON")
        bad = dispatch()
        del bad["deadline"]
        self.assertRegex(w.decode_dispatch(json.dumps(bad).encode())[1], "deadline")

    def test_the_checker_can_fail(self):
        # The fallback checker must refuse what the schema refuses, or the tests above prove nothing.
        self.assertNotEqual(problems(load_schema("result"), {"v": 1, "type": "progress"}), [])


if __name__ == "__main__":
    unittest.main()
