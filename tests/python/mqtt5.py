"""An independent MQTT 5 client (paho-mqtt) for the tests.

  mqtt5.py publish PORT FILE        publishes the messages of FILE (a JSON list of
                                    {topic, payload, qos, user, content_type,
                                    response_topic, correlation_hex, expiry}) and
                                    waits for every acknowledgement
  mqtt5.py subscribe PORT FILTER N SECONDS
                                    prints "ready" once subscribed, then one JSON
                                    line per message (topic, payload and properties)
                                    until N arrived or SECONDS passed
"""
import json
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def client(port):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-" + uuid.uuid4().hex[:12],
                    protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port, keepalive=30)
    return c


def publish(port, path):
    msgs = json.load(open(path))
    c = client(port)
    c.loop_start()
    infos = []
    for m in msgs:
        p = Properties(PacketTypes.PUBLISH)
        if m.get("user"):
            p.UserProperty = [tuple(kv) for kv in m["user"]]
        if m.get("content_type"):
            p.ContentType = m["content_type"]
        if m.get("response_topic"):
            p.ResponseTopic = m["response_topic"]
        if m.get("correlation_hex"):
            p.CorrelationData = bytes.fromhex(m["correlation_hex"])
        if m.get("expiry"):
            p.MessageExpiryInterval = m["expiry"]
        infos.append(c.publish(m["topic"], m["payload"].encode(), qos=m.get("qos", 1), properties=p))
    for i in infos:
        i.wait_for_publish(30)
        if not i.is_published():
            sys.exit("a publish was not acknowledged")
    c.loop_stop()
    c.disconnect()


def subscribe(port, filt, n, seconds):
    got = []
    done = threading.Event()
    subscribed = threading.Event()

    def on_subscribe(c, userdata, mid, reason_codes, props):
        subscribed.set()

    def on_message(c, userdata, msg):
        p = msg.properties
        got.append({
            "topic": msg.topic,
            "payload": msg.payload.decode("utf-8", "replace"),
            "user": [list(kv) for kv in getattr(p, "UserProperty", [])],
            "content_type": getattr(p, "ContentType", None),
            "response_topic": getattr(p, "ResponseTopic", None),
            "correlation_hex": getattr(p, "CorrelationData", b"").hex() or None,
            "expiry": getattr(p, "MessageExpiryInterval", None),
        })
        if len(got) >= n:
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-" + uuid.uuid4().hex[:12],
                    protocol=mqtt.MQTTv5)
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    c.subscribe(filt, qos=1)
    if not subscribed.wait(30):
        sys.exit("not subscribed")
    print("ready", flush=True)
    done.wait(seconds)
    c.loop_stop()
    for g in got:
        print(json.dumps(g), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        publish(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "subscribe":
        subscribe(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
