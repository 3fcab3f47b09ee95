"""Independent Schema Registry checks for tests/schema_registry.rs, with
confluent-kafka's own serializers and registry client.

  schema_registry.py read-avro BOOTSTRAP TOPIC REGISTRY_URL COUNT
      reads COUNT records from the start of TOPIC with AvroDeserializer (keys too, when
      they are in the wire format) and prints one JSON object per record:
      {"key": ..., "value": ..., "key_schema_id": n, "value_schema_id": n}
      decimals print as strings, dates and times in ISO format, bytes as hex.
  schema_registry.py write-avro BOOTSTRAP TOPIC REGISTRY_URL SCHEMA_JSON
      reads JSON objects (one per line) from stdin and produces each as a value with
      AvroSerializer and the given schema (TopicNameStrategy, auto-registration).
  schema_registry.py subjects REGISTRY_URL
      prints the registry's subjects, one per line.
  schema_registry.py latest REGISTRY_URL SUBJECT
      prints the latest schema of SUBJECT (its text).

Environment: SR_CA (a CA file for https), SR_USER_INFO (user:password).
"""
import base64
import datetime
import decimal
import json
import os
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def registry(url):
    conf = {"url": url}
    if os.environ.get("SR_CA"):
        conf["ssl.ca.location"] = os.environ["SR_CA"]
    if os.environ.get("SR_USER_INFO"):
        conf["basic.auth.user.info"] = os.environ["SR_USER_INFO"]
    return SchemaRegistryClient(conf)


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    return v


def schema_id(data):
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return int.from_bytes(data[1:5], "big")


def read_avro(bootstrap, topic, url, count):
    sr = registry(url)
    des = AvroDeserializer(sr)
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "sr-check-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    got = 0
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while got < count and datetime.datetime.now() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            raise SystemExit("consumer error: %s" % m.error())
        key = m.key()
        if schema_id(key) is not None:
            key = des(key, SerializationContext(topic, MessageField.KEY))
        elif key is not None:
            key = key.decode("utf-8", "replace")
        value = des(m.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({
            "key": plain(key),
            "value": plain(value),
            "key_schema_id": schema_id(m.key()),
            "value_schema_id": schema_id(m.value()),
        }, sort_keys=True))
        got += 1
    c.close()
    if got < count:
        raise SystemExit("read %d of %d records from %s" % (got, count, topic))


def write_avro(bootstrap, topic, url, schema):
    sr = registry(url)
    ser = AvroSerializer(sr, schema)
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        obj = json.loads(line)
        p.produce(topic, value=ser(revive(obj), SerializationContext(topic, MessageField.VALUE)))
        n += 1
    if p.flush(30) != 0:
        raise SystemExit("not every record was delivered")
    print(n)


def revive(v):
    """{"$decimal": "1.50"}, {"$date": "2024-02-29"}, {"$bytes": "hex"} as Python values."""
    if isinstance(v, dict):
        if "$decimal" in v:
            return decimal.Decimal(v["$decimal"])
        if "$date" in v:
            return datetime.date.fromisoformat(v["$date"])
        if "$bytes" in v:
            return bytes.fromhex(v["$bytes"])
        return {k: revive(x) for k, x in v.items()}
    if isinstance(v, list):
        return [revive(x) for x in v]
    return v


def main(argv):
    cmd = argv[1]
    if cmd == "read-avro":
        read_avro(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "write-avro":
        write_avro(argv[2], argv[3], argv[4], argv[5])
    elif cmd == "subjects":
        for s in registry(argv[2]).get_subjects():
            print(s)
    elif cmd == "latest":
        print(registry(argv[2]).get_latest_version(argv[3]).schema.schema_str)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
