"""Independent Protobuf Schema Registry checks for tests/schema_registry_protobuf.rs,
with confluent-kafka's own ProtobufSerializer / ProtobufDeserializer and registry
client. Message classes are built at run time from a JSON spec (a FileDescriptorProto
made in Python, added to protobuf's default descriptor pool):

  {"file": "t.proto", "package": "pkg", "deps": ["google/protobuf/timestamp.proto"],
   "messages": [{"name": "Row", "fields": [["id", 1, "int32"],
                                            ["note", 2, "string", "optional"],
                                            ["tags", 3, "string", "repeated"],
                                            ["at", 4, ".google.protobuf.Timestamp"],
                                            ["n", 5, "int32", "", {"connect.type": "int16"}]],
                 "nested": [...]}]}

The first message is the one read or written.

  schema_registry_protobuf.py read BOOTSTRAP TOPIC REGISTRY_URL COUNT SPEC
      reads COUNT records from the start of TOPIC with ProtobufDeserializer and prints
      one JSON object per record: {"value": {...}, "schema_id": n, "indexes": [...],
      "schema_type": "PROTOBUF", "schema": registered text}. Unset message fields and
      unset proto3 optional fields print as null, Timestamps as epoch milliseconds,
      confluent.type.Decimal as a string, google.type.Date as ISO, bytes as hex.
  schema_registry_protobuf.py write BOOTSTRAP TOPIC REGISTRY_URL SPEC
      reads JSON objects (one per line) from stdin and produces each as a value with
      ProtobufSerializer (TopicNameStrategy, auto-registration); {"$ts_ms": n} is a
      Timestamp, {"$decimal": "1.50"} a confluent.type.Decimal, {"$bytes": "hex"} bytes.
"""
import datetime
import decimal
import io
import json
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.common.protobuf import PROTOBUF_TYPE
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.schema_registry.confluent import meta_pb2
from confluent_kafka.schema_registry.confluent.type import decimal_utils
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2, wrappers_pb2  # noqa: F401
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message_factory import GetMessageClass

F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    "double": F.TYPE_DOUBLE, "float": F.TYPE_FLOAT, "int64": F.TYPE_INT64,
    "uint64": F.TYPE_UINT64, "int32": F.TYPE_INT32, "bool": F.TYPE_BOOL,
    "string": F.TYPE_STRING, "bytes": F.TYPE_BYTES, "uint32": F.TYPE_UINT32,
    "sint32": F.TYPE_SINT32, "sint64": F.TYPE_SINT64,
}


def add_message(proto, spec):
    proto.name = spec["name"]
    if spec.get("map_entry"):
        proto.options.map_entry = True
    for f in spec["fields"]:
        name, number, ty = f[0], f[1], f[2]
        label = f[3] if len(f) > 3 else ""
        fd = proto.field.add(name=name, number=number)
        fd.label = F.LABEL_REPEATED if label == "repeated" else F.LABEL_OPTIONAL
        if ty in SCALARS:
            fd.type = SCALARS[ty]
        else:
            fd.type = F.TYPE_MESSAGE
            fd.type_name = ty
        if len(f) > 4:
            fd.options.Extensions[meta_pb2.field_meta].params.update(f[4])
        if label == "optional":
            fd.proto3_optional = True
            fd.oneof_index = len(proto.oneof_decl)
            proto.oneof_decl.add(name="_" + name)
    for n in spec.get("nested", []):
        add_message(proto.nested_type.add(), n)


def message_class(spec):
    if spec.get("deps") and "confluent/type/decimal.proto" in spec["deps"]:
        from confluent_kafka.schema_registry.confluent.type import decimal_pb2  # noqa: F401
    if spec.get("deps") and "google/type/date.proto" in spec["deps"]:
        raise SystemExit("google/type/date.proto is not available in the Python test")
    fd = descriptor_pb2.FileDescriptorProto(name=spec["file"], package=spec["package"], syntax="proto3")
    fd.dependency.extend(spec.get("deps", []))
    for m in spec["messages"]:
        add_message(fd.message_type.add(), m)
    pool = descriptor_pool.Default()
    pool.Add(fd)
    first = spec["messages"][0]["name"]
    full = spec["package"] + "." + first if spec["package"] else first
    return GetMessageClass(pool.FindMessageTypeByName(full))


def plain(msg):
    d = msg.DESCRIPTOR
    if d.full_name == "google.protobuf.Timestamp":
        return msg.seconds * 1000 + msg.nanos // 1_000_000
    if d.full_name == "confluent.type.Decimal":
        return str(decimal_utils.from_proto_decimal(msg))
    out = {}
    for f in d.fields:
        v = getattr(msg, f.name)
        if f.is_repeated:
            if f.message_type is not None and f.message_type.GetOptions().map_entry:
                out[f.name] = {str(k): scalar(x) for k, x in v.items()}
            else:
                out[f.name] = [scalar(x) for x in v]
        elif f.has_presence and not msg.HasField(f.name):
            out[f.name] = None
        else:
            out[f.name] = scalar(v)
    return out


def scalar(v):
    if hasattr(v, "DESCRIPTOR"):
        return plain(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def read(bootstrap, topic, url, count, spec):
    cls = message_class(json.loads(spec))
    sr = SchemaRegistryClient({"url": url})
    # Apicurio's Confluent API ignores ?format=serialized, which the deserializer asks for
    # when it has a registry client, so the registered text is fetched separately below.
    des = ProtobufDeserializer(cls, {"use.deprecated.format": False})
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "sr-check-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    got = 0
    schemas = {}
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while got < count and datetime.datetime.now() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            raise SystemExit("consumer error: %s" % m.error())
        data = m.value()
        if data[0] != 0:
            raise SystemExit("not in the wire format: %r" % data[:8])
        sid = int.from_bytes(data[1:5], "big")
        if sid not in schemas:
            schemas[sid] = sr.get_schema(sid)
        # the message indexes as ProtobufDeserializer's framing reader sees them
        framing = SchemaId(PROTOBUF_TYPE)
        framing.from_bytes(io.BytesIO(data))
        value = des(data, SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({
            "value": plain(value),
            "schema_id": sid,
            "framing_id": framing.id,
            "indexes": list(framing.message_indexes or []),
            "schema_type": schemas[sid].schema_type,
            "schema": schemas[sid].schema_str,
        }, sort_keys=True))
        got += 1
    c.close()
    if got < count:
        raise SystemExit("read %d of %d records from %s" % (got, count, topic))


def fill(msg, obj):
    for k, v in obj.items():
        if v is None:
            continue
        f = msg.DESCRIPTOR.fields_by_name[k]
        if f.is_repeated:
            if f.message_type is not None and f.message_type.GetOptions().map_entry:
                getattr(msg, k).update(v)
            elif f.message_type is not None:
                for item in v:
                    fill(getattr(msg, k).add(), item)
            else:
                getattr(msg, k).extend(v)
        elif f.message_type is not None:
            target = getattr(msg, k)
            if isinstance(v, dict) and "$ts_ms" in v:
                target.seconds = v["$ts_ms"] // 1000
                target.nanos = (v["$ts_ms"] % 1000) * 1_000_000
            elif isinstance(v, dict) and "$decimal" in v:
                target.CopyFrom(decimal_utils.to_proto_decimal(decimal.Decimal(v["$decimal"])))
            elif f.message_type.full_name.startswith("google.protobuf.") and f.message_type.full_name.endswith("Value"):
                target.value = v
            else:
                fill(target, v)
        elif isinstance(v, dict) and "$bytes" in v:
            setattr(msg, k, bytes.fromhex(v["$bytes"]))
        else:
            setattr(msg, k, v)


def write(bootstrap, topic, url, spec):
    cls = message_class(json.loads(spec))
    sr = SchemaRegistryClient({"url": url})
    ser = ProtobufSerializer(cls, sr, {"use.deprecated.format": False})
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = cls()
        fill(msg, json.loads(line))
        p.produce(topic, value=ser(msg, SerializationContext(topic, MessageField.VALUE)))
        n += 1
    if p.flush(30) != 0:
        raise SystemExit("not every record was delivered")
    print(n)


def main(argv):
    cmd = argv[1]
    if cmd == "read":
        read(argv[2], argv[3], argv[4], int(argv[5]), argv[6])
    elif cmd == "write":
        write(argv[2], argv[3], argv[4], argv[5])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
