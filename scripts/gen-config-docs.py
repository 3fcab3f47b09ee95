#!/usr/bin/env python3
"""Regenerates the key tables in docs/*.md from the keys Sluice declares.

Tables sit between markers such as `<!-- keys:worker -->` and `<!-- /keys -->`.
Usage: scripts/gen-config-docs.py   (builds and runs `sluice plugins --json`)
"""
import json, re, subprocess, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
out = subprocess.run(["cargo", "run", "-q", "--", "plugins", "--json"], cwd=root,
                     check=True, capture_output=True, text=True).stdout
d = json.loads(out)

def table(keys, skip=()):
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for k in keys:
        if k["name"] in skip:
            continue
        if k["required"]:
            default = "*required*"
        elif k["default"] is None:
            default = "–"
        else:
            default = "`%s`" % k["default"] if k["default"] != "" else '`""`'
        doc = k["documentation"].replace("|", "\\|")
        if k.get("valid_values"):
            doc += " Valid values: %s." % k["valid_values"]
        rows.append("| `%s` | %s | %s | %s |" % (k["name"], k["type"], default, doc))
    return "\n".join(rows)

common = {k["name"] for k in d["common_connector_config"]}
tables = {
    "worker": table(d["worker_config"]),
    "common": table(d["common_connector_config"]),
    "source": table([k for k in d["source_connector_config"] if k["name"] not in common]),
    "sink": table([k for k in d["sink_connector_config"] if k["name"] not in common]),
}
for c in d["converters"]:
    tables["converter:" + c["class"].rsplit(".", 1)[-1]] = table(c["config"]) if c["config"] else "(no keys)"
for c in d["connectors"]:
    tables["connector:" + c["aliases"][0]] = table(c["config"])

pattern = re.compile(r"(<!-- keys:([^ ]+) -->\n)(.*?)(<!-- /keys -->)", re.S)
for md in (root / "docs").glob("*.md"):
    text = md.read_text()
    def repl(m):
        name = m.group(2)
        if name not in tables:
            raise SystemExit(f"{md}: unknown table {name}")
        return m.group(1) + tables[name] + "\n" + m.group(4)
    new = pattern.sub(repl, text)
    if new != text:
        md.write_text(new)
        print("updated", md.relative_to(root))
