"""Independent JSON Schema checks for tests/schema_registry_json.rs, with
confluent-kafka's own JSONSerializer / JSONDeserializer and registry client.

  schema_registry_json.py read-json BOOTSTRAP TOPIC REGISTRY_URL COUNT
      reads COUNT records from the start of TOPIC with JSONDeserializer (the writer's
      schema fetched from the registry by the id in each record, and each value
      validated against it; keys too, when they are in the wire format) and prints one
      JSON object per record:
      {"key": ..., "value": ..., "key_schema_id": n, "value_schema_id": n}
  schema_registry_json.py write-json BOOTSTRAP TOPIC REGISTRY_URL SCHEMA_JSON
      reads JSON values (one per line) from stdin and produces each with JSONSerializer
      and the given schema (TopicNameStrategy, auto-registration, validation on).
  schema_registry_json.py latest REGISTRY_URL SUBJECT
      prints the latest schema of SUBJECT as {"schemaType": ..., "schema": <text>}.
"""
import datetime
import json
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def schema_id(data):
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return int.from_bytes(data[1:5], "big")


def read_json(bootstrap, topic, url, count):
    sr = SchemaRegistryClient({"url": url})
    des = JSONDeserializer(None, schema_registry_client=sr)
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "srjson-check-" + uuid.uuid4().hex,
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
            "key": key,
            "value": value,
            "key_schema_id": schema_id(m.key()),
            "value_schema_id": schema_id(m.value()),
        }, sort_keys=True))
        got += 1
    c.close()
    if got < count:
        raise SystemExit("read %d of %d records from %s" % (got, count, topic))


def write_json(bootstrap, topic, url, schema):
    sr = SchemaRegistryClient({"url": url})
    ser = JSONSerializer(schema, sr)
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        value = json.loads(line)
        p.produce(topic, value=ser(value, SerializationContext(topic, MessageField.VALUE)))
        n += 1
    if p.flush(30) != 0:
        raise SystemExit("not every record was delivered")
    print(n)


def main(argv):
    cmd = argv[1]
    if cmd == "read-json":
        read_json(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "write-json":
        write_json(argv[2], argv[3], argv[4], argv[5])
    elif cmd == "latest":
        s = SchemaRegistryClient({"url": argv[2]}).get_latest_version(argv[3]).schema
        print(json.dumps({"schemaType": s.schema_type, "schema": s.schema_str}))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
