"""Self-test of the Qonversion mock (qonversion_mock.py): the one stand-in the suite relies on.

Run from this folder:  python3 -m unittest -v test_mock_api
Every server test starts the mock as a subprocess on a free port and talks real HTTP to it.
Expected numbers are recomputed here from the module's pure functions, and the simplest ones a
second time by a naive loop written in this file.
"""
from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qonversion_mock as qm  # noqa: E402

MOCK = os.path.join(HERE, "qonversion_mock.py")
CUSTOMERS, SEED = 3000, 5
Y2025, Y2026 = 1735689600, 1767225600  # 2025-01-01, 2026-01-01


def query(since=(Y2025, Y2026), encoded_brackets=False, **params) -> str:
    """Builds a raw query: since, then params (lists become repeated filter[x][] keys)."""
    pairs = []
    if since is not None:
        pairs += [("filter[since][]", str(since[0])), ("filter[since][]", str(since[1]))]
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            pairs += [(f"filter[{name}][]", v) for v in value]
        else:
            pairs.append((name, str(value)))
    text = []
    for name, value in pairs:
        if encoded_brackets:
            name = urllib.parse.quote(name, safe="")
        text.append(f"{name}={urllib.parse.quote(value, safe='')}")
    return "&".join(text)


class MockProcess:
    """The mock as a child process; stop() checks it exits 0 on SIGTERM."""

    def __init__(self, *args: str, customers: int = CUSTOMERS, seed: int = SEED):
        self.stderr = tempfile.TemporaryFile()
        cmd = [sys.executable, MOCK, "--port", "0", "--customers", str(customers),
               "--seed", str(seed), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode() if ready else ""
        self.handshake = line.rstrip("\n")
        m = re.fullmatch(r"QETL_MOCK_LISTENING port=(\d+)", self.handshake)
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.stderr.seek(0)
            raise RuntimeError(f"mock did not start: {line!r} {self.stderr.read().decode()}")
        self.port = int(m.group(1))

    def path(self, raw_query: str = "", key: str = "k1") -> str:
        return f"/v1/analytics/{key}/customers-metrics" + (f"?{raw_query}" if raw_query else "")

    def request(self, path: str, method: str = "GET", headers=None, timeout: float = 10,
                conn: http.client.HTTPConnection | None = None):
        """(status, headers, body bytes) of one request (on `conn` when given, kept open)."""
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            if own:
                conn.close()

    def get(self, raw_query: str = "", key: str = "k1", **kw):
        return self.request(self.path(raw_query, key), **kw)

    def stats(self) -> dict:
        return json.loads(self.request("/__stats")[2])

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()
        return self.proc.returncode


class MockTestCase(unittest.TestCase):
    """Starts servers through self.start(...) and stops them (asserting exit 0) afterwards."""

    def start(self, *args: str, **kw) -> MockProcess:
        server = MockProcess(*args, **kw)
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, "mock must exit 0 on SIGTERM"))
        return server


CUSTOMER_LIST = qm.generate_customers(CUSTOMERS, SEED)


def expected(**kw) -> qm.Metrics:
    return qm.compute_metrics(CUSTOMER_LIST, qm.MetricsQuery(**kw))


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------

class PureFunctionTest(unittest.TestCase):
    def test_generation_is_deterministic_and_shaped(self):
        again = qm.generate_customers(CUSTOMERS, SEED)
        self.assertEqual(again, CUSTOMER_LIST)
        self.assertNotEqual(qm.generate_customers(CUSTOMERS, SEED + 1), CUSTOMER_LIST)
        recent = sum(c.first_seen >= qm.T_2025 for c in CUSTOMER_LIST) / CUSTOMERS
        self.assertGreater(recent, 0.6)
        self.assertTrue(all(qm.T_2015 <= c.first_seen < qm.T_2027 for c in CUSTOMER_LIST))
        self.assertEqual([c.first_seen for c in CUSTOMER_LIST],
                         sorted(c.first_seen for c in CUSTOMER_LIST))
        sources = {c.media_source_name for c in CUSTOMER_LIST}
        self.assertTrue({"Google & Co", "Café=Ads", "O'Brien \"quoted\""} <= sources)
        self.assertEqual({c.status for c in CUSTOMER_LIST}, {1, 2, 3, 4})

    def test_compute_metrics_matches_a_naive_count(self):
        lo, hi = Y2025, Y2026
        chosen = [c for c in CUSTOMER_LIST if c.environment == 1 and lo <= c.first_seen < hi
                  and c.country in ("US", "GB") and str(c.status) in ("2", "3")]
        m = expected(since=(lo, hi), filters=(("country", ("US", "GB")), ("status", ("2", "3"))))
        self.assertGreater(len(chosen), 10)
        self.assertEqual(m.clientsWithEvent, len(chosen))
        self.assertEqual(m.activeSubscribers, sum(c.status == 2 for c in chosen))
        self.assertEqual(m.billingRetry, 0)
        self.assertEqual(m.sales, sum((c.revenue for c in chosen), Decimal(0)))
        subs = [c for c in chosen if c.ever_subscribed]
        churn = (Decimal(100) * sum(c.cancelled for c in subs) / len(subs)).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP")
        self.assertEqual(m.churnedSubscribers, churn)

    def test_index_equals_the_reference_loop(self):
        # The server answers through CustomerIndex (bitsets); it must agree with the plain loop
        # of compute_metrics on every kind of query.
        import random
        index = qm.CustomerIndex(list(reversed(CUSTOMER_LIST)))
        rng = random.Random(42)
        seen = {dim: sorted({str(getattr(c, dim)) for c in CUSTOMER_LIST
                             if getattr(c, dim) is not None}) for dim in qm.LIST_FILTERS}
        for _ in range(150):
            lo = rng.randrange(qm.T_2015, qm.T_2027)
            hi = rng.randrange(lo, qm.T_2027 + 1)
            filters = tuple((dim, tuple(rng.sample(seen[dim], min(2, len(seen[dim])))))
                            for dim in rng.sample(qm.LIST_FILTERS, rng.randint(0, 3)))
            q = qm.MetricsQuery(environment=rng.randint(0, 1), since=(lo, hi), filters=filters,
                                search=rng.choice([None, "an", "ZOË", "user_00", "@"]))
            self.assertEqual(index.metrics(q), qm.compute_metrics(CUSTOMER_LIST, q), q)
        q = qm.MetricsQuery(since=(qm.T_2015, qm.T_2027), filters=(("country", ("ZZ",)),))
        self.assertEqual(index.metrics(q).clientsWithEvent, 0)

    def test_format_decimal(self):
        cases = {"0": "0", "0.00": "0", "2.40": "2.4", "3.00": "3", "380276.24": "380276.24",
                 "100": "100", "1E+2": "100", "-0.00": "0", "-5.10": "-5.1"}
        for text, want in cases.items():
            self.assertEqual(qm.format_decimal(Decimal(text)), want, text)

    def test_parse_query_accepts_raw_and_encoded_brackets(self):
        raw = qm.parse_query("filter[country][]=US&filter%5Bcountry%5D%5B%5D=GB&search=a+b%26c&")
        self.assertEqual(raw, [("filter[country][]", "US"), ("filter[country][]", "GB"),
                               ("search", "a b&c")])

    def test_validate_query(self):
        q = qm.validate_query(qm.parse_query(query(environment=0, country=["US", "GB"],
                                                   status=["1"], search="x")))
        self.assertEqual(q, qm.MetricsQuery(environment=0, since=(Y2025, Y2026),
                                            filters=(("country", ("US", "GB")), ("status", ("1",))),
                                            search="x"))
        with self.assertRaises(qm.ValidationError):
            qm.validate_query([("filter[since][]", "1")])


# --------------------------------------------------------------------------------------------
# The server: answers and validation
# --------------------------------------------------------------------------------------------

class AnswerTest(MockTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.log_path = os.path.join(cls.tmp.name, "answers.jsonl")
        cls.server = MockProcess("--keys", "k1,k2", "--forbidden-keys", "kf",
                                 "--answer-log", cls.log_path)

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.tmp.cleanup()

    def assert_answer(self, raw_query: str, want: qm.Metrics):
        status, headers, body = self.server.get(raw_query)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("application/json"))
        text = body.decode()
        self.assertEqual(text, qm.render_metrics(want))  # exact text: decimals unrounded
        data = json.loads(text, parse_float=Decimal)["data"]
        for name in qm.METRIC_FIELDS:
            self.assertEqual(Decimal(data[name]), Decimal(getattr(want, name)), name)
        return data

    def test_handshake_line(self):
        self.assertRegex(self.server.handshake, r"^QETL_MOCK_LISTENING port=\d+$")

    def test_valid_request_exact_numbers(self):
        want = expected(since=(Y2025, Y2026))
        self.assertGreater(want.clientsWithEvent, 100)
        self.assertNotEqual(want.sales, 0)
        self.assert_answer(query(), want)
        # Same request, same answer.
        self.assertEqual(self.server.get(query())[2], self.server.get(query())[2])

    def test_filters_environment_and_encoded_brackets(self):
        want = expected(environment=0, since=(qm.T_2015, qm.T_2027),
                        filters=(("target_platform", ("iOS", "Android")), ("country", ("US",))))
        self.assertGreater(want.clientsWithEvent, 0)
        for encoded in (False, True):
            raw = query(since=(qm.T_2015, qm.T_2027), environment=0, encoded_brackets=encoded,
                        target_platform=["iOS", "Android"], country=["US"])
            self.assert_answer(raw, want)

    def test_awkward_values_round_trip(self):
        for source in ("Google & Co", "Café=Ads", "O'Brien \"quoted\"", "TikTok+Ads"):
            want = expected(since=(qm.T_2015, qm.T_2027),
                            filters=(("media_source_name", (source,)),))
            self.assertGreater(want.clientsWithEvent, 0, source)
            self.assert_answer(query(since=(qm.T_2015, qm.T_2027), media_source_name=[source]),
                               want)

    def test_search_is_case_insensitive(self):
        naive = sum(1 for c in CUSTOMER_LIST if c.environment == 1
                    and qm.T_2015 <= c.first_seen < qm.T_2027 and "zoë" in c.email)
        self.assertGreater(naive, 0)
        data = self.assert_answer(query(since=(qm.T_2015, qm.T_2027), search="ZOË"),
                                  expected(since=(qm.T_2015, qm.T_2027), search="ZOË"))
        self.assertEqual(data["clientsWithEvent"], naive)
        # 255 characters is still fine.
        self.assertEqual(self.server.get(query(search="x" * 255))[0], 200)

    def test_missing_since_answers_zeros(self):
        zeros = qm.render_metrics(qm.Metrics())
        for raw in ("", query(since=None, country=["US"])):
            status, _, body = self.server.get(raw)
            self.assertEqual((status, body.decode()), (200, zeros))
        # An empty range [t, t) too.
        self.assertEqual(self.server.get(query(since=(Y2025, Y2025)))[2].decode(), zeros)

    def test_validation_errors(self):
        error, errors = "error", "errors"
        cases = [
            (query(environment=2), error, "environment"),
            (query(environment=1) + "&environment=1", error, "environment"),
            (query(search="x" * 256), error, "search"),
            (query(search="a") + "&search=b", error, "search"),
            (query(since=None) + "&filter[since][]=1", error, "filter[since][]"),
            (query() + "&filter[since][]=3", error, "filter[since][]"),
            ("filter[since][]=abc&filter[since][]=5", error, "filter[since][]"),
            (f"filter[since][]=1&filter[since][]={2 ** 63}", error, "filter[since][]"),
            (query(since=(Y2026, Y2025)), error, "filter[since][]"),
            (query(status=["5"]), error, "filter[status][]"),
            (query(target_platform=["ios"]), error, "filter[target_platform][]"),
            (query(country=["USA"]), errors, "filter[country]"),
            (query(country=["us"]), errors, "filter[country]"),
            (query(purchase_currency=["usd"]), errors, "filter[purchase_currency]"),
            (query(product_id=[""]), error, "filter[product_id][]"),
            (query(colour="red"), error, "colour"),
            (query() + "&filter[country]=US", error, "filter[country]"),  # no []
            (query() + "&filter%5Bcountry%5D=US", error, "filter[country]"),
            (query() + "&filter[since]=1", error, "filter[since]"),
            (query() + "&filter[colour][]=red", error, "filter[colour][]"),
        ]
        for raw, envelope, mention in cases:
            with self.subTest(raw=raw):
                status, _, body = self.server.get(raw)
                self.assertEqual(status, 400, body)
                doc = json.loads(body)
                if envelope == "error":
                    self.assertEqual(doc["error"]["code"], "validation_error")
                    self.assertEqual(doc["error"]["type"], "request")
                    self.assertIn(mention, doc["error"]["message"])
                else:
                    self.assertEqual(doc["success"], False)
                    self.assertEqual(doc["message"], "Unprocessable request params")
                    self.assertIn(mention, doc["errors"])
                    self.assertIsInstance(doc["errors"][mention], list)

    def test_unknown_and_forbidden_keys(self):
        body = {"success": False, "message": "Invalid or missing Project API Key", "errors": None}
        for key, status in (("nope", 401), ("", 401), ("kf", 403)):
            got_status, _, got = self.server.get(query(), key=key)
            self.assertEqual((got_status, json.loads(got)), (status, body))
        self.assertEqual(self.server.get(query(), key="k2")[0], 200)

    def test_routes(self):
        status, _, body = self.server.request("/v1/analytics/k1/customer-metrics")
        self.assertEqual(status, 404)
        self.assertIn("error", json.loads(body))
        self.assertEqual(self.server.request("/", method="GET")[0], 404)
        status, headers, _ = self.server.request(self.server.path(query()), method="POST")
        self.assertEqual((status, headers["Allow"]), (405, "GET"))

    def test_gzip(self):
        plain = self.server.get(query())[2]
        status, headers, body = self.server.get(query(), headers={"Accept-Encoding": "gzip"})
        self.assertEqual((status, headers["Content-Encoding"]), (200, "gzip"))
        self.assertEqual(gzip.decompress(body), plain)
        self.assertEqual(int(headers["Content-Length"]), len(body))

    def test_answer_log(self):
        raw = query(country=["US", "GB"], search="anna")
        _, _, body = self.server.get(raw, key="k2")
        with open(self.log_path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        rec = [r for r in records if r["key"] == "k2" and r["query"] == raw][-1]
        self.assertEqual(set(rec), {"ts", "key", "status", "kind", "environment", "since",
                                    "filters", "search", "attempt", "fault", "query", "body"})
        self.assertEqual((rec["status"], rec["kind"], rec["environment"], rec["since"]),
                         (200, "ok", 1, [Y2025, Y2026]))
        self.assertEqual((rec["filters"], rec["search"]), ({"country": ["US", "GB"]}, "anna"))
        self.assertEqual(rec["body"], body.decode())
        self.assertGreaterEqual(rec["attempt"], 1)


class ConnectionTest(MockTestCase):
    def test_keep_alive_and_stats(self):
        server = self.start("--keys", "k1,k2")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(2):
            self.assertEqual(server.request(server.path(query()), conn=conn)[0], 200)
        conn.close()
        stats = server.stats()
        self.assertEqual(stats["connections_accepted"], 1)
        self.assertEqual(stats["requests_total"], 2)
        self.assertEqual(stats["by_status"], {"200": 2})
        self.assertEqual(stats["by_kind"], {"ok": 2})
        self.assertEqual(stats["by_key"], {"k1": 2})
        self.assertEqual((stats["in_flight"], stats["max_in_flight"]), (0, 1))
        self.assertEqual(stats["max_in_flight_by_key"], {"k1": 1})
        times = stats["request_times_by_key"]["k1"]
        self.assertEqual(len(times), 2)
        self.assertLessEqual(times[0], times[1])
        self.assertLessEqual(times[1], stats["now"])
        # POST /__reset clears the counters.
        self.assertEqual(server.request("/__reset", method="POST")[0], 200)
        self.assertEqual(server.stats()["requests_total"], 0)

    def test_latency_and_concurrency_are_counted(self):
        server = self.start("--keys", "k1", "--latency-ms", "300")
        import threading
        results = []
        threads = [threading.Thread(target=lambda: results.append(server.get(query())[0]))
                   for _ in range(3)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 3)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertEqual(server.stats()["max_in_flight_by_key"]["k1"], 3)

    def test_sigint_exits_zero(self):
        server = MockProcess("--keys", "k1", customers=10)
        self.assertEqual(server.stop(signal.SIGINT), 0)

    @unittest.skipUnless(shutil.which("openssl"), "openssl is needed to make a certificate")
    def test_tls(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        cert, key = os.path.join(tmp.name, "c.pem"), os.path.join(tmp.name, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        server = self.start("--keys", "k1", "--tls-cert", cert, "--tls-key", key)
        ctx = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
        status, _, body = server.request(server.path(query()), conn=conn)
        conn.close()
        want = qm.render_metrics(expected(since=(Y2025, Y2026)))
        self.assertEqual((status, body.decode()), (200, want))
        # Plain HTTP on the same port: control endpoints work, the API answers 400 as nginx does.
        self.assertEqual(server.stats()["by_status"], {"200": 1})
        self.assertEqual(server.get(query())[0], 400)


# --------------------------------------------------------------------------------------------
# Rate limit and faults
# --------------------------------------------------------------------------------------------

class RateLimitTest(MockTestCase):
    def test_burst_is_refused_and_spacing_is_not(self):
        server = self.start("--keys", "k1,k2", "--rate-limit-per-minute", "600",
                            "--retry-after", "1", customers=200)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        burst = [server.request(server.path(query()), conn=conn) for _ in range(3)]
        conn.close()
        self.assertEqual(burst[0][0], 200)
        refused = [r for r in burst if r[0] == 429]
        self.assertGreaterEqual(len(refused), 1)
        self.assertEqual(refused[0][1]["Retry-After"], "1")
        self.assertEqual(json.loads(refused[0][2]), {"success": False,
                                                     "message": "Rate limit exceeded",
                                                     "errors": None})
        # Exactly 60/R s apart, on another key (limits are per key): never refused.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        start, statuses = time.monotonic(), []
        for i in range(8):
            time.sleep(max(0.0, start + i * 0.1 - time.monotonic()))
            statuses.append(server.request(server.path(query(), key="k2"), conn=conn)[0])
        conn.close()
        self.assertEqual(statuses, [200] * 8)
        times = server.stats()["request_times_by_key"]["k2"]
        self.assertEqual(len(times), 8)
        self.assertAlmostEqual(times[-1] - times[0], 0.7, delta=0.1)


class FaultTest(MockTestCase):
    def test_fail_first(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = os.path.join(tmp.name, "a.jsonl")
        server = self.start("--keys", "k1", "--fail-first", "2", "--fail-kind", "503",
                            "--answer-log", log, customers=200)
        a, b = query(country=["US"]), query(country=["GB"])
        self.assertEqual([server.get(a)[0] for _ in range(3)], [503, 503, 200])
        # Another request fails on its own first attempts; the same request with encoded
        # brackets is the same request.
        self.assertEqual(server.get(b)[0], 503)
        self.assertEqual(server.get(query(country=["US"], encoded_brackets=True))[0], 200)
        with open(log, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        self.assertEqual([(r["attempt"], r["kind"], r["fault"]) for r in records[:3]],
                         [(1, "503", "fail-first"), (2, "503", "fail-first"), (3, "ok", None)])

    def test_fail_segment(self):
        server = self.start("--keys", "k1", "--fail-segment", "country=JP",
                            "--fail-segment", "media_source_name=Google & Co", customers=200)
        for raw in (query(country=["JP"]), query(country=["US", "JP"]),
                    query(media_source_name=["Google & Co"])):
            self.assertEqual([server.get(raw)[0] for _ in range(3)], [500] * 3, raw)
        self.assertEqual(server.get(query(country=["US"]))[0], 200)
        self.assertEqual(server.get(query())[0], 200)

    def test_fault_rate_is_deterministic(self):
        args = ("--keys", "k1", "--fault-rate", "0.5", "--fault-kinds", "500,503",
                "--fault-seed", "11")
        runs = []
        for _ in range(2):
            server = self.start(*args, customers=50)
            runs.append([server.get(query(since=(Y2025 + i, Y2026)))[0] for i in range(12)])
        self.assertEqual(runs[0], runs[1])
        self.assertIn(200, runs[0])
        self.assertTrue(set(runs[0]) - {200} <= {500, 503} and set(runs[0]) != {200})

    def test_every_fault_kind(self):
        checks = {
            "500": lambda r: self.assertEqual((r[0], json.loads(r[2])["success"]), (500, False)),
            "502": lambda r: (self.assertEqual(r[0], 502),
                              self.assertIn("text/html", r[1]["Content-Type"])),
            "503": lambda r: self.assertEqual(r[0], 503),
            "429": lambda r: (self.assertEqual(r[0], 429),
                              self.assertEqual(r[1]["Retry-After"], "2")),
            "html": lambda r: (self.assertEqual(r[0], 200),
                               self.assertTrue(r[2].startswith(b"<!DOCTYPE html>"))),
            "no-data": lambda r: self.assertEqual((r[0], json.loads(r[2])), (200, {"result": {}})),
            "non-numeric": lambda r: self.assertEqual(
                json.loads(r[2])["data"]["activeSubscribers"], "lots"),
            "bad-json": lambda r: (self.assertEqual(r[0], 200),
                                   self.assertRaises(ValueError, json.loads, r[2])),
            "out-of-range": lambda r: self.assertEqual(
                json.loads(r[2])["data"]["clientsWithEvent"], 10 ** 30),
            "empty": lambda r: self.assertEqual((r[0], r[2]), (500, b"")),
        }
        failures = {
            "reset": (ConnectionError, http.client.HTTPException),
            "hang": (TimeoutError,),
            "truncated": (http.client.IncompleteRead,),
        }
        self.assertEqual(set(checks) | set(failures), set(qm.FAULT_KINDS))
        for kind in qm.FAULT_KINDS:
            with self.subTest(kind=kind):
                server = self.start("--keys", "k1", "--fail-first", "1", "--fail-kind", kind,
                                    "--hang-seconds", "2", "--retry-after", "2", customers=50)
                if kind in failures:
                    with self.assertRaises(failures[kind]):
                        server.get(query(), timeout=0.5)
                else:
                    checks[kind](server.get(query()))
                # The second attempt is answered normally.
                self.assertEqual(server.get(query())[0], 200)


class FormTest(MockTestCase):
    def test_numeric_strings_and_extra_fields(self):
        server = self.start("--keys", "k1", "--numeric-strings", "--extra-fields")
        want = expected(since=(Y2025, Y2026))
        status, _, body = server.get(query())
        self.assertEqual(status, 200)
        doc = json.loads(body, parse_float=Decimal)
        self.assertIn("meta", doc)
        data = doc["data"]
        self.assertIn("cohortBreakdown", data)
        for name in qm.COUNT_FIELDS:
            self.assertEqual(data[name], str(getattr(want, name)), name)
        for name in set(qm.METRIC_FIELDS) - set(qm.COUNT_FIELDS):
            self.assertEqual(data[name], getattr(want, name), name)


if __name__ == "__main__":
    unittest.main()
