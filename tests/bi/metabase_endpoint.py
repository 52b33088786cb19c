#!/usr/bin/env python3
"""A stand-in for Metabase's ETL notification endpoint, for the [bi] tests.

    POST {prefix}/api/notify/db/{id}
    X-METABASE-APIKEY: <key>            (Metabase compares it with its MB_API_KEY setting)
    Content-Type: application/json
    {"scan": "schema"}

It answers 200 {"success": true} only when the method, the path, the key header, the content
type and the body are all what the job must send; anything else gets a 4xx whose body says
which check failed, so a failing test shows why. It can also answer a fixed status, hang, or
echo the key it received (to prove the job never prints it). Python standard library only.

On start it prints one line to stdout and flushes it, then nothing more:

    QETL_MOCK_LISTENING port=<port>

(the handshake tests/common/mock_api_server.hpp waits for, so that class starts this script
too). GET /__stats answers what was received as JSON, never the key itself; POST /__reset
clears it. SIGTERM or SIGINT: exit 0 at once.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Sequence

HANDSHAKE_PREFIX = "QETL_MOCK_LISTENING"
KEY_HEADER = "X-METABASE-APIKEY"


class Record:
    """What arrived, for /__stats. Guarded by a lock: handlers run on their own threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []

    def add(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)

    def snapshot(self) -> dict:
        with self.lock:
            requests = list(self.requests)
        notify = [r for r in requests if r["verdict"] == "ok"]
        return {"requests_total": len(requests), "valid_notifications": len(notify), "requests": requests}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()


def check(options: argparse.Namespace, method: str, path: str, headers, body: bytes) -> tuple[int, str]:
    """(status, reason) for a request that is not a control request; (200, "ok") when valid."""
    expected_path = f"{options.prefix}/api/notify/db/{options.database_id}"
    if path != expected_path:
        return 404, f"no such endpoint {path!r}: expected {expected_path!r}"
    if method != "POST":
        return 405, f"method {method} not allowed: expected POST"
    keys = headers.get_all(KEY_HEADER) or []
    if len(keys) != 1:
        return 401, f"Unauthenticated: expected exactly one {KEY_HEADER} header, got {len(keys)}"
    if keys[0] != options.key:
        return 401, f"Unauthenticated: {KEY_HEADER} does not match MB_API_KEY"
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return 415, f"Content-Type {content_type!r}: expected application/json"
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return 400, f"body is not JSON: {e}"
    if parsed != {"scan": "schema"}:
        return 400, f"body {parsed!r}: expected {{\"scan\": \"schema\"}}"
    return 200, "ok"


def make_handler(options: argparse.Namespace, record: Record):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "metabase-endpoint-test"

        def log_message(self, fmt: str, *args) -> None:  # quiet: stderr is a log file
            if options.verbose:
                sys.stderr.write("%s\n" % (fmt % args))

        def answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            if options.location:
                self.send_header("Location", options.location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def answer_raw(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def handle_any(self) -> None:
            body = self.read_body()
            path = self.path
            if path == "/__stats" and self.command == "GET":
                return self.answer(200, record.snapshot())
            if path == "/__reset" and self.command == "POST":
                record.reset()
                return self.answer(200, {"reset": True})
            status, reason = check(options, self.command, path, self.headers, body)
            verdict = "ok" if status == 200 else reason
            if status == 200 and options.status != 200:
                status, reason = options.status, f"answering {options.status} as told"
            record.add({
                "method": self.command,
                "path": path,
                "content_type": self.headers.get("Content-Type") or "",
                "body": body.decode("utf-8", "replace"),
                "key_matches": (self.headers.get(KEY_HEADER) == options.key),
                "verdict": verdict,
                "status": status,
            })
            if options.hang_seconds > 0:
                time.sleep(options.hang_seconds)
            payload: dict = {"success": True} if status == 200 else {"message": reason}
            if options.echo_key:
                payload["received_key"] = self.headers.get(KEY_HEADER) or ""
            try:
                if options.answer_text is not None and verdict == "ok":
                    self.answer_raw(status, options.answer_text.encode())
                else:
                    self.answer(status, payload)
            except OSError:
                pass  # the client gave up (the timeout test): nothing to answer

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    return Handler


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", required=True, help="the MB_API_KEY the header must carry")
    parser.add_argument("--database-id", type=int, required=True)
    parser.add_argument("--prefix", default="", help="path prefix Metabase is served under, e.g. /metabase")
    parser.add_argument("--status", type=int, default=200, help="status of the answer to a valid request")
    parser.add_argument("--hang-seconds", type=float, default=0, help="sleep before answering")
    parser.add_argument("--echo-key", action="store_true", help="put the received key header in every answer")
    parser.add_argument("--location", default=None, help="Location header of every answer (with --status 3xx)")
    parser.add_argument("--answer-text", default=None, help="raw body of the answer to a valid request")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS only")
    parser.add_argument("--tls-key", default=None)
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args(argv)
    options.prefix = options.prefix.rstrip("/")

    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(0))

    record = Record()
    server = ThreadingHTTPServer((options.host, options.port), make_handler(options, record))
    server.daemon_threads = True
    if options.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.tls_cert, options.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    sys.stdout.write(f"{HANDSHAKE_PREFIX} port={server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
