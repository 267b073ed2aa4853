#!/usr/bin/env python3
"""privacyIDEA (and the `pskc` package) for safeid's interoperability tests.

Two modes, both on a fresh SQLite instance in --data DIR (created on first use):

  driver  One process for all privacyIDEA cases: JSON requests on stdin, one JSON reply
          per line on stdout. privacyIDEA runs in-process behind its Flask test client,
          so nothing listens on the network. Requests:
            {"op":"load","kind":"oathcsv"|"pskc","path":P,"psk":HEX?,"password":S?}
            {"op":"token","serial":S}
            {"op":"check","serial":S,"otp":CODE}
            {"op":"secrets","format":F,"path":P,"psk":HEX?,"password":S?}
              -> the secrets read back WITHOUT safeid: Python's csv/json/urllib for the
                 text formats, the `pskc` package for PSKC (plain or encrypted)
            {"op":"quit"}
  serve   privacyIDEA's WSGI app on 127.0.0.1 (werkzeug, threaded), plain HTTP or HTTPS
          with --cert/--key. The first stdout line is {"port":N,"pid":N}; the process runs
          until it is killed.

The admin account is `admin` with the password in the environment variable
SAFEID_PI_ADMIN_PASSWORD (never on a command line). Secrets never go to stderr or logs.
"""

import argparse
import base64
import csv
import io
import json
import os
import sys
import urllib.parse

ADMIN = "admin"


def instance(data):
    """privacyIDEA app on the SQLite database in `data`, created on first use."""
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(data, "pi.cfg")
    fresh = not os.path.exists(cfg)
    if fresh:
        secret_key = base64.b64encode(os.urandom(32)).decode()
        pepper = base64.b64encode(os.urandom(16)).decode()
        with open(cfg, "w") as f:
            f.write(
                f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{data}/pi.sqlite'\n"
                f"SECRET_KEY = '{secret_key}'\n"
                f"PI_PEPPER = '{pepper}'\n"
                f"PI_ENCFILE = '{data}/enckey'\n"
                "PI_AUDIT_NO_SIGN = True\n"
                f"PI_AUDIT_KEY_PRIVATE = '{data}/audit-private.pem'\n"
                f"PI_AUDIT_KEY_PUBLIC = '{data}/audit-public.pem'\n"
                f"PI_LOGFILE = '{data}/privacyidea.log'\n"
                "PI_LOGLEVEL = 30\n"
            )
        with open(os.path.join(data, "enckey"), "wb") as f:
            f.write(os.urandom(96))
    from privacyidea.app import create_app
    from privacyidea.models import db

    app = create_app("production", config_file=cfg, silent=True)
    if fresh:
        from privacyidea.lib.auth import create_db_admin

        with app.app_context():
            db.create_all()
            create_db_admin(ADMIN, None, os.environ["SAFEID_PI_ADMIN_PASSWORD"])
    return app


class Driver:
    def __init__(self, app):
        self.client = app.test_client()
        r = self.client.post(
            "/auth",
            json={"username": ADMIN, "password": os.environ["SAFEID_PI_ADMIN_PASSWORD"]},
        )
        self.headers = {"Authorization": r.json["result"]["value"]["token"]}

    def load(self, req):
        with open(req["path"], "rb") as f:
            body = f.read()
        data = {"type": req["kind"], "file": (io.BytesIO(body), os.path.basename(req["path"]))}
        for k in ("psk", "password"):
            if req.get(k):
                data[k] = req[k]
        r = self.client.post(
            "/token/load/" + os.path.basename(req["path"]),
            headers=self.headers,
            data=data,
            content_type="multipart/form-data",
        )
        result = r.json["result"]
        if not result.get("status"):
            return {"error": result.get("error", {}).get("message", "failed")}
        return result["value"]

    def token(self, req):
        r = self.client.get("/token/", headers=self.headers, query_string={"serial": req["serial"]})
        tokens = [t for t in r.json["result"]["value"]["tokens"] if t["serial"] == req["serial"]]
        if not tokens:
            return {"exists": False}
        t = tokens[0]
        return {
            "exists": True,
            "tokentype": t["tokentype"],
            "hashlib": t["info"].get("hashlib"),
            "timeStep": t["info"].get("timeStep"),
            "otplen": t["otplen"],
            "description": t.get("description"),
        }

    def check(self, req):
        r = self.client.post("/validate/check", json={"serial": req["serial"], "pass": req["otp"]})
        result = r.json["result"]
        return {"accept": result.get("authentication") == "ACCEPT"}


def secrets(req):
    """The tokens of an exported file, read without safeid."""
    fmt, path = req["format"], req["path"]
    out = []
    if fmt == "pskc":
        from pskc import PSKC

        p = PSKC(path)
        if req.get("psk"):
            p.encryption.key = bytes.fromhex(req["psk"])
        elif req.get("password"):
            p.encryption.derive_key(req["password"])
        for k in p.keys:
            out.append({
                "serial": k.serial,
                "secret_hex": k.secret.hex(),
                "hash": (k.algorithm_suite or "SHA1").upper(),
                "period": k.time_interval or 30,
                "digits": k.response_length or 6,
            })
        return {"tokens": out}
    with open(path, newline="") as f:
        text = f.read()
    if fmt in ("privacyidea", "linotp"):
        for line in text.splitlines():
            v = [x.strip() for x in line.split(",")]
            if len(v) < 3 or line.startswith("#"):
                continue
            out.append({
                "serial": v[0], "secret_hex": v[1].lower(),
                "hash": (v[5] if len(v) > 5 else "").upper() or None,
                "period": int(v[4]) if len(v) > 4 else 30,
                "digits": int(v[3]) if len(v) > 3 else 6,
            })
    elif fmt in ("duo", "vendor-hex"):
        for row in csv.reader(io.StringIO(text)):
            if row:
                out.append({"serial": row[0], "secret_hex": row[1].lower()})
    elif fmt == "entra":
        for row in csv.DictReader(io.StringIO(text)):
            b32 = row["secret key"].upper()
            raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
            out.append({"serial": row["serial number"], "secret_hex": raw.hex(),
                        "hash": "SHA1", "period": int(row["time interval"]), "digits": 6})
    elif fmt == "graph":
        doc = json.loads(text)
        for d in doc["value"] if isinstance(doc, dict) else doc:
            b32 = d["secretKey"].upper()
            raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
            out.append({"serial": d["serialNumber"], "secret_hex": raw.hex(),
                        "hash": {"hmacsha1": "SHA1", "hmacsha256": "SHA256"}[d["hashFunction"]],
                        "period": int(d["timeIntervalInSeconds"]), "digits": 6})
    elif fmt == "otpauth":
        for line in text.splitlines():
            u = urllib.parse.urlparse(line)
            q = dict(urllib.parse.parse_qsl(u.query))
            b32 = q["secret"].upper()
            raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
            label = urllib.parse.unquote(u.path.lstrip("/"))
            out.append({"serial": label.split(":", 1)[-1], "secret_hex": raw.hex(),
                        "hash": q.get("algorithm", "SHA1").upper(),
                        "period": int(q.get("period", 30)), "digits": int(q.get("digits", 6))})
    else:
        return {"error": "unknown format " + fmt}
    return {"tokens": out}


def protocol_stdout():
    """The real stdout for the protocol; anything else printed goes to stderr."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def driver(args):
    out = protocol_stdout()
    app = instance(args.data)
    d = Driver(app)
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "quit":
                break
            elif op == "load":
                reply = d.load(req)
            elif op == "token":
                reply = d.token(req)
            elif op == "check":
                reply = d.check(req)
            elif op == "secrets":
                reply = secrets(req)
            else:
                reply = {"error": "unknown op"}
        except Exception as e:  # the reply names the exception type only, never data
            reply = {"error": type(e).__name__}
        print(json.dumps(reply), file=out, flush=True)


def serve(args):
    import logging
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out = protocol_stdout()
    app = instance(args.data)
    ssl_context = (args.cert, args.key) if args.cert else None
    server = make_server("127.0.0.1", args.port, app, threaded=True, ssl_context=ssl_context)
    print(json.dumps({"port": server.server_port, "pid": os.getpid()}), file=out, flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    d = sub.add_parser("driver")
    d.add_argument("--data", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--data", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--cert")
    s.add_argument("--key")
    args = p.parse_args()
    {"driver": driver, "serve": serve}[args.mode](args)


if __name__ == "__main__":
    main()
