#!/usr/bin/python3
# Owns the confluent-kafka (librdkafka) side of the dev broker's client-matrix tests: one JSON line per event on stdout.
#   produce BOOTSTRAP TOPIC COUNT PREFIX COMPRESSION   -> {"event": "produced", ...} once flushed
#   consume BOOTSTRAP TOPIC GROUP                       -> assigned / revoked / message / error lines,
#                                                          committing each message synchronously; SIGTERM closes
import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException, Producer


def out(**event):
    print(json.dumps(event), flush=True)


def produce(bootstrap, topic, count, prefix, compression):
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": compression, "linger.ms": 5})
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))

    for i in range(count):
        producer.produce(topic, key=f"{prefix}-{i}", value=f"value-{i}", headers=[("origin", b"python")],
                         on_delivery=delivered)
        producer.poll(0)
    unflushed = producer.flush(30)
    out(event="produced", count=count, errors=errors, unflushed=unflushed)


def consume(bootstrap, topic, group):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        # Short enough that a rebalance after a member leaves completes quickly in a test.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 300,
    })
    consumer.subscribe(
        [topic],
        on_assign=lambda c, parts: out(event="assigned", partitions=sorted(p.partition for p in parts)),
        on_revoke=lambda c, parts: out(event="revoked", partitions=sorted(p.partition for p in parts)),
    )
    while not stopping:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            out(event="error", error=str(msg.error()))
            continue
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException as err:
            out(event="error", error=str(err))
        out(event="message", partition=msg.partition(), offset=msg.offset(), key=msg.key().decode(),
            value=msg.value().decode(), headers=[[k, v.decode()] for k, v in (msg.headers() or [])])
    consumer.close()
    out(event="closed")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "produce":
        produce(args[0], args[1], int(args[2]), args[3], args[4])
    elif command == "consume":
        consume(args[0], args[1], args[2])
    else:
        sys.exit(f"unknown command {command}")
