# A reference Taskwire worker in Python (confluent-kafka): the worker side of docs/kafka-contract.md.
"""Run: KAFKA_BROKERS=127.0.0.1:9092 WORKER_ID=py-1 /usr/bin/python3 examples/python-worker/worker.py

Joins the workers' consumer group on the dispatch topic(s), runs the executors below on a thread
pool, publishes started/progress/terminal results keyed by task id, heartbeats keyed by worker id,
honours cancel requests from the control topic, and commits a dispatch offset only once the terminal
result of that message (and of every earlier one in its partition) was acknowledged by the broker.
"""
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

VERSION = "0.1.0-py"
CANCEL_TTL_MS = 15 * 60_000
DEFAULT_QUEUE = "default"


def now_ms():
    return int(time.time() * 1000)


def log(level, msg, **fields):
    # One JSON line per event on stderr, like the TS services' pino output, so tests can show it.
    sys.stderr.write(json.dumps({"level": level, "time": now_ms(), "msg": msg, **fields}) + "\n")
    sys.stderr.flush()


class Config:
    def __init__(self, env):
        self.brokers = env.get("KAFKA_BROKERS", "127.0.0.1:9092")
        self.group_id = env.get("GROUP_ID", "task-worker-group")
        self.worker_id = env.get("WORKER_ID") or "py-%s-%d" % (socket.gethostname(), os.getpid())
        self.queues = [q.strip() for q in env.get("WORKER_QUEUES", DEFAULT_QUEUE).split(",") if q.strip()]
        self.dispatch_topic = env.get("TASK_DISPATCH_TOPIC", "task_execution_requests")
        self.result_topic = env.get("RESULT_TOPIC", "task_results")
        self.control_topic = env.get("TASK_CONTROL_TOPIC", "task_control")
        self.heartbeat_topic = env.get("WORKER_HEARTBEAT_TOPIC", "task_worker_heartbeats")
        self.concurrency = int(env.get("WORKER_CONCURRENCY", "4"))
        self.heartbeat_interval_ms = int(env.get("HEARTBEAT_INTERVAL_MS", "5000"))
        self.session_timeout_ms = int(env.get("KAFKA_SESSION_TIMEOUT_MS", "6000"))
        self.shutdown_grace_ms = int(env.get("SHUTDOWN_GRACE_MS", "20000"))

    def dispatch_topics(self):
        # Queue `default` is the dispatch topic itself; queue q is `<topic>.q`.
        return [self.dispatch_topic if q == DEFAULT_QUEUE else "%s.%s" % (self.dispatch_topic, q) for q in self.queues]


# ---------------------------------------------------------------------------------------------
# Executors: fn(params, ctx) -> result (JSON-serialisable). ctx.progress(pct, message) and
# ctx.cancelled() let long executors report and stop early.


class TaskAbort(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind  # "cancel" | "timeout"


def echo(params, ctx):
    return params


def py_progress(params, ctx):
    steps = int((params or {}).get("steps", 4)) if isinstance(params, dict) else 4
    delay = float((params or {}).get("delay_ms", 50)) / 1000 if isinstance(params, dict) else 0.05
    for i in range(1, steps + 1):
        time.sleep(delay)
        ctx.check()
        ctx.progress(round(100 * i / steps, 2), "step %d of %d" % (i, steps))
    return {"steps": steps}


def sleep(params, ctx):
    # Same name and params as the TS built-in, so mixed groups can share a `sleep` template.
    end = time.monotonic() + float((params or {}).get("ms", 0)) / 1000
    while time.monotonic() < end:
        ctx.check()
        time.sleep(min(0.05, max(0, end - time.monotonic())))
    return {"slept_ms": (params or {}).get("ms", 0)}


EXECUTORS = {"echo": echo, "sleep": sleep, "py-echo": echo, "py-progress": py_progress}


# ---------------------------------------------------------------------------------------------


class OffsetTracker:
    """Per partition: offsets taken, offsets whose result is acknowledged; commits the done prefix."""

    def __init__(self):
        self.pending = set()
        self.highest = -1
        self.committed = None

    def start(self, offset):
        self.pending.add(offset)
        self.highest = max(self.highest, offset)

    def finish(self, offset):
        self.pending.discard(offset)

    def position(self):
        """The offset to commit (next to read), or None when nothing new is done."""
        if self.highest < 0:
            return None
        pos = min(self.pending) if self.pending else self.highest + 1
        return None if self.committed is not None and pos <= self.committed else pos


class Cancels:
    """Running attempts (with their abort flags) and recent cancel requests, as the TS RunningTasks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = {}  # task_id -> list of (attempt, threading.Event)
        self.canceled = {}  # task_id -> (at, attempt or None, seen)

    def cancel(self, task_id, attempt, at):
        with self.lock:
            self.canceled[task_id] = (at, attempt, now_ms())
            n = 0
            for a, ev in self.running.get(task_id, []):
                if attempt is None or a == attempt:
                    ev.set()
                    n += 1
            return n

    def was_canceled(self, task_id, attempt, queued_at):
        with self.lock:
            c = self.canceled.get(task_id)
            if not c:
                return False
            at, c_attempt, seen = c
            if now_ms() - seen > CANCEL_TTL_MS:
                del self.canceled[task_id]
                return False
            if c_attempt is not None and c_attempt != attempt:
                return False
            return at >= queued_at

    def add(self, task_id, attempt):
        ev = threading.Event()
        with self.lock:
            self.running.setdefault(task_id, []).append((attempt, ev))
        return ev

    def remove(self, task_id, attempt, ev):
        with self.lock:
            lst = [e for e in self.running.get(task_id, []) if e[1] is not ev]
            if lst:
                self.running[task_id] = lst
            else:
                self.running.pop(task_id, None)


# param_schema (older managers) and param_schema_ref are optional: this worker does not re-validate params.
DISPATCH_REQUIRED = ["v", "task_id", "attempt", "template_id", "template_name", "executor", "queue",
                     "params", "timeout_ms", "deadline", "queued_at"]


def decode_dispatch(value):
    """(message, None) or (None, reason), with the checks of docs/schemas/dispatch.v1.json that matter here."""
    try:
        msg = json.loads(value)
    except Exception as e:  # noqa: BLE001 - any undecodable payload is dead-lettered
        return None, "not JSON: %s" % e
    if not isinstance(msg, dict):
        return None, "not a JSON object"
    missing = [k for k in DISPATCH_REQUIRED if k not in msg]
    if missing:
        return None, "missing %s" % ", ".join(missing)
    if msg["v"] != 1:
        return None, "unsupported v %r" % msg["v"]
    if not isinstance(msg["task_id"], str) or not msg["task_id"]:
        return None, "task_id must be a non-empty string"
    for k in ("attempt", "timeout_ms", "deadline", "queued_at"):
        if not isinstance(msg[k], int) or isinstance(msg[k], bool):
            return None, "%s must be an integer" % k
    return msg, None


class Worker:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cancels = Cancels()
        self.done = queue.Queue()  # (topic, partition, offset, generation) whose result is acknowledged
        self.trackers = {}  # (topic, partition) -> OffsetTracker
        self.generation = 0  # bumped on every revoke: results of an older assignment are not committed
        self.running = 0
        self.running_lock = threading.Lock()
        self.stopping = threading.Event()
        self.started_at = now_ms()
        self.pool = ThreadPoolExecutor(max_workers=cfg.concurrency)
        self.producer = Producer({
            "bootstrap.servers": cfg.brokers,
            "client.id": cfg.worker_id,
            "linger.ms": 5,
            # Results of one task share a key (one partition); one request in flight keeps their order.
            "max.in.flight.requests.per.connection": 1,
        })
        self.consumer = Consumer({
            "bootstrap.servers": cfg.brokers,
            "group.id": cfg.group_id,
            "client.id": cfg.worker_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": cfg.session_timeout_ms,
            # The TS workers (kafkajs) also offer round robin under this name: the group's common protocol.
            "partition.assignment.strategy": "roundrobin",
            # A queue topic created after the worker subscribed is found within seconds, not minutes.
            "topic.metadata.refresh.interval.ms": 5000,
            "heartbeat.interval.ms": max(100, min(1000, cfg.session_timeout_ms // 5)),
        })

    # --- publishing ---------------------------------------------------------------------------

    def publish(self, topic, key, value, on_ack=None, headers=None):
        """Produces one message; on_ack(err) runs (on the main thread's poll) once the broker answered."""
        def cb(err, _msg):
            if on_ack:
                on_ack(err)
        while True:
            try:
                self.producer.produce(topic, key=key, value=value, headers=headers, on_delivery=cb)
                return
            except BufferError:
                self.producer.poll(0.05)

    def result(self, msg, type_, **extra):
        out = {"v": 1, "type": type_, "task_id": msg["task_id"], "attempt": msg["attempt"],
               "worker_id": self.cfg.worker_id, "at": now_ms()}
        out.update(extra)
        return json.dumps(out, separators=(",", ":"))

    def heartbeat(self, stopping=False):
        hb = {"v": 1, "worker_id": self.cfg.worker_id, "host": socket.gethostname()[:255], "pid": os.getpid(),
              "queues": self.cfg.queues, "executors": sorted(EXECUTORS), "concurrency": self.cfg.concurrency,
              "running": self.running, "version": VERSION, "started_at": self.started_at, "at": now_ms()}
        if stopping:
            hb["stopping"] = True
        self.publish(self.cfg.heartbeat_topic, self.cfg.worker_id, json.dumps(hb, separators=(",", ":")))

    # --- running one task ---------------------------------------------------------------------

    def run_task(self, msg, where):
        """On a pool thread: runs the executor, publishes its messages; `where` is marked done on ack."""
        task_id, attempt = msg["task_id"], msg["attempt"]
        topic = self.cfg.result_topic

        def finish(type_, **extra):
            def acked(err):
                if err is None:
                    self.done.put(where)
                else:
                    # Not acknowledged: the offset stays uncommitted, so the task is redelivered.
                    log("warn", "result not published; task will be redelivered", task_id=task_id, error=str(err))
            self.publish(topic, task_id, self.result(msg, type_, **extra), acked)

        if self.cancels.was_canceled(task_id, attempt, msg["queued_at"]):
            return finish("canceled", error={"message": "task %s attempt %d was canceled before it started"
                                             % (task_id, attempt), "code": "canceled", "retryable": False})
        fn = EXECUTORS.get(msg["executor"])
        if fn is None:
            return finish("failed", error={
                "message": 'worker %s has no executor "%s" (it serves: %s)'
                           % (self.cfg.worker_id, msg["executor"], ", ".join(sorted(EXECUTORS))),
                "code": "executor_not_found", "retryable": False,
                "data": {"worker_id": self.cfg.worker_id, "executor": msg["executor"], "executors": sorted(EXECUTORS)}})
        if now_ms() >= msg["deadline"]:
            return finish("timed_out", error={"message": "deadline passed before the task started",
                                              "code": "timeout", "retryable": True})
        abort = self.cancels.add(task_id, attempt)
        worker = self

        class Ctx:
            def check(self):
                if abort.is_set():
                    raise TaskAbort("cancel", "task %s attempt %d was canceled" % (task_id, attempt))
                if now_ms() >= msg["deadline"]:
                    raise TaskAbort("timeout", "task %s timed out after %d ms" % (task_id, msg["timeout_ms"]))

            def progress(self, pct, message=None):
                extra = {"pct": max(0, min(100, pct))}
                if message is not None:
                    extra["message"] = str(message)
                worker.publish(topic, task_id, worker.result(msg, "progress", **extra))

        with self.running_lock:
            self.running += 1
        try:
            self.publish(topic, task_id, self.result(msg, "started"))
            try:
                ctx = Ctx()
                value = fn(msg["params"], ctx)
                ctx.check()
                json.dumps(value)
            except TaskAbort as e:
                if e.kind == "cancel":
                    return finish("canceled", error={"message": str(e), "code": "canceled", "retryable": False})
                return finish("timed_out", error={"message": str(e), "code": "timeout", "retryable": True})
            except Exception as e:  # noqa: BLE001 - an executor's exception is the task's failure
                return finish("failed", error={"message": str(e) or type(e).__name__, "retryable": True,
                                               "data": {"name": type(e).__name__}})
            return finish("succeeded", result=value)
        finally:
            self.cancels.remove(task_id, attempt, abort)
            with self.running_lock:
                self.running -= 1

    # --- consumer side ------------------------------------------------------------------------

    def on_assign(self, _consumer, partitions):
        for p in partitions:
            self.trackers[(p.topic, p.partition)] = OffsetTracker()
        log("info", "dispatch partitions assigned", partitions=["%s/%d" % (p.topic, p.partition) for p in partitions])

    def on_revoke(self, consumer, partitions):
        # Commit what is done while we still may; tasks still running publish their results, but their
        # offsets are the new owner's to commit (it re-runs them: at-least-once).
        self.drain_done()
        self.commit(consumer, sync=True)
        self.generation += 1
        for p in partitions:
            self.trackers.pop((p.topic, p.partition), None)

    def drain_done(self):
        while True:
            try:
                topic, partition, offset, gen = self.done.get_nowait()
            except queue.Empty:
                return
            t = self.trackers.get((topic, partition))
            if t is not None and gen == self.generation:
                t.finish(offset)

    def commit(self, consumer, sync=False):
        offsets = []
        for (topic, partition), t in self.trackers.items():
            pos = t.position()
            if pos is not None:
                offsets.append((t, TopicPartition(topic, partition, pos)))
        if not offsets:
            return
        try:
            consumer.commit(offsets=[tp for _, tp in offsets], asynchronous=not sync)
            for t, tp in offsets:
                t.committed = tp.offset
        except Exception as e:  # noqa: BLE001 - a rebalance in progress: the next commit carries newer positions
            log("warn", "committing dispatch offsets failed; will retry", error=str(e))

    def dead_letter(self, m, reason):
        dlq = m.topic() + ".dlq"
        headers = list(m.headers() or []) + [
            ("x-dlq-reason", reason), ("x-dlq-topic", m.topic()),
            ("x-dlq-partition", str(m.partition())), ("x-dlq-offset", str(m.offset()))]
        where = (m.topic(), m.partition(), m.offset(), self.generation)
        log("warn", "invalid dispatch message sent to the DLQ", topic=m.topic(), offset=m.offset(), reason=reason)
        self.publish(dlq, m.key(), m.value(), lambda err: err is None and self.done.put(where), headers)

    def control_loop(self):
        # Its own group per process start, from the beginning: every worker sees every cancel, and a
        # worker that starts late still knows recent cancels of tasks waiting in Kafka.
        c = Consumer({"bootstrap.servers": self.cfg.brokers,
                      "group.id": "%s.control.%s.%s" % (self.cfg.group_id, self.cfg.worker_id, uuid.uuid4().hex[:8]),
                      "auto.offset.reset": "earliest", "enable.auto.commit": True})
        c.subscribe([self.cfg.control_topic])
        try:
            while not self.stopping.is_set():
                m = c.poll(0.5)
                if m is None or m.error():
                    continue
                try:
                    ctl = json.loads(m.value())
                    if ctl.get("v") != 1 or ctl.get("type") != "cancel" or not isinstance(ctl.get("task_id"), str):
                        raise ValueError("not a v1 cancel")
                    at = int(ctl["at"])
                except Exception as e:  # noqa: BLE001 - every worker reads this topic: skip, never dead-letter
                    log("warn", "invalid control message skipped", offset=m.offset(), reason=str(e))
                    continue
                if now_ms() - at > CANCEL_TTL_MS:
                    continue
                n = self.cancels.cancel(ctl["task_id"], ctl.get("attempt"), at)
                log("info", "cancel request", task_id=ctl["task_id"], aborted=n)
        finally:
            c.close()

    def heartbeat_loop(self):
        while not self.stopping.wait(self.cfg.heartbeat_interval_ms / 1000):
            self.heartbeat()

    def run(self):
        cfg = self.cfg
        threading.Thread(target=self.control_loop, daemon=True).start()
        self.consumer.subscribe(cfg.dispatch_topics(), on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.heartbeat()
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        log("info", "worker %s started: queues %s, executors %s, concurrency %d"
            % (cfg.worker_id, ",".join(cfg.queues), ",".join(sorted(EXECUTORS)), cfg.concurrency))
        inflight = {}  # future -> where, bounded by 2x concurrency so intake stops when executors are busy
        last_commit = 0.0
        while not self.stopping.is_set():
            self.producer.poll(0)
            for f in [f for f in inflight if f.done()]:
                del inflight[f]
            if len(inflight) < 2 * cfg.concurrency:
                m = self.consumer.poll(0.05)
            else:
                m = None
                time.sleep(0.01)
            if m is not None:
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        log("warn", "consumer error", error=str(m.error()))
                else:
                    key = (m.topic(), m.partition())
                    tracker = self.trackers.get(key)
                    if tracker is None:  # assigned before on_assign ran (should not happen): track anyway
                        tracker = self.trackers[key] = OffsetTracker()
                    tracker.start(m.offset())
                    where = (m.topic(), m.partition(), m.offset(), self.generation)
                    msg, reason = decode_dispatch(m.value())
                    if msg is None:
                        self.dead_letter(m, reason)
                    else:
                        inflight[self.pool.submit(self.run_task, msg, where)] = where
            self.drain_done()
            if time.monotonic() - last_commit > 0.05:
                self.commit(self.consumer)
                last_commit = time.monotonic()
        self.shutdown(inflight)

    def shutdown(self, inflight):
        log("info", "stopping: waiting for running tasks", running=len(inflight))
        deadline = time.monotonic() + self.cfg.shutdown_grace_ms / 1000
        while any(not f.done() for f in inflight) and time.monotonic() < deadline:
            self.producer.poll(0.05)
        self.producer.flush(10)
        self.drain_done()
        self.commit(self.consumer, sync=True)
        self.heartbeat(stopping=True)
        self.producer.flush(10)
        self.consumer.close()  # leaves the group at once, so its partitions move without a session timeout
        self.pool.shutdown(wait=False)
        log("info", "worker %s stopped" % self.cfg.worker_id)


def main():
    worker = Worker(Config(os.environ))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stopping.set())
    worker.run()


if __name__ == "__main__":
    main()
