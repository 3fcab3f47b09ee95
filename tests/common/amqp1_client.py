"""An independent AMQP 1.0 client (python-qpid-proton) for the amqp1 tests.

  send <url> <address> <capability>     JSON lines on stdin, one message each
  receive <url> <address> <capability> <max> <idle-seconds>
                                        prints one JSON line per message (accepted)

A message line: {"body": ..., "kind": "text|bytes|map|list|null", "id": ..., "correlation_id": ...,
"subject": ..., "group_id": ..., "group_sequence": ..., "reply_to": ..., "priority": ...,
"durable": bool, "creation_time": ms, "props": {...}}. The JMS message type annotation
(x-opt-jms-msg-type) is set the way the Qpid JMS client sets it. URLs may carry user:password;
amqps URLs trust the CA in $SLUICE_CA.
"""
import base64, json, os, sys
from urllib.parse import urlparse, unquote

from proton import Message, SSLDomain, symbol, byte, ubyte
from proton.reactor import LinkOption
from proton.utils import BlockingConnection

JMS_TYPE = {"null": 0, "map": 2, "bytes": 3, "text": 5, "list": 0}


class Caps(LinkOption):
    def __init__(self, cap, source):
        self.cap, self.source = cap, source

    def apply(self, link):
        if not self.cap:
            return
        t = link.source if self.source else link.target
        t.capabilities.put_array(False, 21)  # symbol array
        t.capabilities.enter()
        for c in self.cap.split(","):
            t.capabilities.put_symbol(c)
        t.capabilities.exit()


def connect(url):
    u = urlparse(url)
    ssl = None
    if u.scheme == "amqps":
        ssl = SSLDomain(SSLDomain.MODE_CLIENT)
        ssl.set_trusted_ca_db(os.environ["SLUICE_CA"])
        ssl.set_peer_authentication(SSLDomain.VERIFY_PEER)
    host = "%s://%s:%d" % (u.scheme, u.hostname, u.port)
    return BlockingConnection(host, user=unquote(u.username) if u.username else None,
                              password=unquote(u.password) if u.password else None,
                              allowed_mechs="PLAIN" if u.username else "ANONYMOUS",
                              ssl_domain=ssl, timeout=30)


def to_message(d):
    kind = d.get("kind", "text")
    body = d.get("body")
    if kind == "bytes":
        body = base64.b64decode(body) if d.get("b64") else body.encode()
        m = Message(body=body, inferred=True)
        m.content_type = "application/octet-stream"
    elif kind == "null":
        m = Message()
    else:
        m = Message(body=body)
    m.annotations = {symbol("x-opt-jms-msg-type"): byte(JMS_TYPE[kind])}
    for k in ("id", "correlation_id", "subject", "group_id", "group_sequence", "reply_to", "priority", "durable", "ttl"):
        if k in d:
            setattr(m, k, d[k])
    if "creation_time" in d:
        m.creation_time = d["creation_time"] / 1000.0
    if "props" in d:
        m.properties = d["props"]
    return m


def describe(m):
    body = m.body
    if isinstance(body, (bytes, bytearray, memoryview)):
        out_body, kind = base64.b64encode(bytes(body)).decode(), "bytes"
    elif isinstance(body, str):
        out_body, kind = body, "text"
    elif isinstance(body, dict):
        out_body, kind = {str(k): v for k, v in body.items()}, "map"
    elif isinstance(body, list):
        out_body, kind = body, "list"
    elif body is None:
        out_body, kind = None, "null"
    else:
        out_body, kind = str(body), type(body).__name__
    return {
        "kind": kind, "body": out_body, "id": None if m.id is None else str(m.id),
        "correlation_id": None if m.correlation_id is None else str(m.correlation_id),
        "subject": m.subject, "group_id": m.group_id, "reply_to": m.reply_to,
        "priority": m.priority, "durable": m.durable, "delivery_count": m.delivery_count,
        "creation_time": int(round(m.creation_time * 1000)) if m.creation_time else None,
        "props": {k: v for k, v in (m.properties or {}).items()},
        "annotations": {str(k): v for k, v in (m.annotations or {}).items()},
    }


def main():
    cmd, url, address, cap = sys.argv[1:5]
    c = connect(url)
    if cmd == "send":
        s = c.create_sender(address, options=Caps(cap, False))
        n, pending = 0, []

        def settle_all():
            c.wait(lambda: all(d.remote_state for d in pending), timeout=60,
                   msg="waiting for the broker's outcomes")
            bad = [d.remote_state for d in pending if d.remote_state != d.ACCEPTED]
            if bad:
                sys.exit("the broker did not accept %d messages: %s" % (len(bad), bad[:3]))
            for d in pending:
                d.settle()
            pending.clear()

        # Many messages in flight (not one round trip each); every outcome is checked.
        for line in sys.stdin:
            if line.strip():
                pending.append(s.link.send(to_message(json.loads(line))))
                n += 1
                if len(pending) >= 500:
                    settle_all()
        settle_all()
        print(n)
    elif cmd == "receive":
        limit, idle = int(sys.argv[5]), float(sys.argv[6])
        r = c.create_receiver(address, credit=min(limit, 1000), options=Caps(cap, True))
        got = 0
        while got < limit:
            try:
                m = r.receive(timeout=idle)
            except Exception:
                break
            print(json.dumps(describe(m), default=str))
            r.accept()
            got += 1
    c.close()


if __name__ == "__main__":
    main()
