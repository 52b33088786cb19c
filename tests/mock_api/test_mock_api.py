"""Self-test of the Qonversion mock (qonversion_mock.py): the one stand-in the suite relies on.

Run from this folder:  python3 -m unittest -v test_mock_api
Every server test starts the mock as a subprocess on a free port and talks real HTTP to it.
Expected numbers are recomputed here from the module's pure functions, and the simplest ones a
second time by a naive loop written in this file.
"""
from __future__ import annotations

import argparse
import contextlib
import email.utils
import gzip
import io
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

    def __init__(self, *args: str, customers: int = CUSTOMERS, seed: int = SEED,
                 wait: bool = True):
        """wait=False: return at once; call await_handshake() before using the server (so
        that several can start side by side)."""
        self.stderr = tempfile.TemporaryFile()
        cmd = [sys.executable, MOCK, "--port", "0", "--customers", str(customers),
               "--seed", str(seed), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr)
        self.port = None
        if wait:
            self.await_handshake()

    def await_handshake(self) -> None:
        # A deadline for a stuck start, not a speed check: generous for a loaded machine.
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
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

    def test_rate_limiter_default_forgives_jitter(self):
        limiter = qm.RateLimiter(60, 0.05)   # the defaults: capacity 1, 50 ms forgiven
        self.assertEqual([limiter.allow("k", t) for t in (0, 0.96, 1.9, 2.0)],
                         [True, True, False, True])

    def test_rate_limiter_strict_bucket_forgives_nothing(self):
        limiter = qm.RateLimiter(60, 0.0)
        self.assertEqual([limiter.allow("k", t) for t in (0, 0.999, 1.0, 1.9999, 2.0, 2.0)],
                         [True, False, True, False, True, False])
        # Per key: another key has its own bucket.
        self.assertTrue(limiter.allow("other", 2.0))

    def test_rate_limiter_burst(self):
        limiter = qm.RateLimiter(60, 0.0, burst=3)
        self.assertEqual([limiter.allow("k", 0) for _ in range(4)], [True, True, True, False])
        # One token back a second later; an idle spell refills to 3, never more.
        self.assertEqual([limiter.allow("k", 1.0) for _ in range(2)], [True, False])
        self.assertEqual([limiter.allow("k", 100.0) for _ in range(4)], [True, True, True, False])

    def test_rate_limiter_count_rejected(self):
        counting = qm.RateLimiter(60, 0.0, count_rejected=True)
        lenient = qm.RateLimiter(60, 0.0)
        times = (0, 0.5, 1.0, 2.5, 4.0)
        self.assertEqual([lenient.allow("k", t) for t in times], [True, False, True, True, True])
        # 0.5 and 1.0 are refused and each pushes the next slot a second back: 2.5 < 3 too.
        self.assertEqual([counting.allow("k", t) for t in times],
                         [True, False, False, False, True])

    def test_distort_metrics(self):
        lookup = lambda q: qm.compute_metrics(CUSTOMER_LIST, q)  # noqa: E731
        base = qm.MetricsQuery(since=(Y2025, Y2026))
        us = qm.MetricsQuery(since=(Y2025, Y2026), filters=(("country", ("GB", "US")),
                                                            ("status", ("2",))))
        status_only = qm.MetricsQuery(since=(Y2025, Y2026), filters=(("status", ("2",)),))
        inflate = qm.Distortion(inflate=(("country", "US", Decimal(3)),
                                         ("status", "2", Decimal(7))))
        got = qm.distort_metrics(us, lookup(us), inflate, lookup)
        # The first matching rule: 3 x the same request without the country filter.
        superset = lookup(status_only)
        for name in qm.COUNT_FIELDS:
            self.assertEqual(getattr(got, name), 3 * getattr(superset, name), name)
        self.assertGreater(got.clientsWithEvent, superset.clientsWithEvent)
        for name in set(qm.METRIC_FIELDS) - set(qm.COUNT_FIELDS):
            self.assertEqual(getattr(got, name), getattr(lookup(us), name), name)
        # A request not filtering on a rule's value is untouched.
        self.assertEqual(qm.distort_metrics(base, lookup(base), inflate, lookup), lookup(base))
        searched = qm.MetricsQuery(since=(Y2025, Y2026), search="anna")
        by_search = qm.Distortion(inflate=(("search", "anna", Decimal(2)),))
        self.assertEqual(qm.distort_metrics(searched, lookup(searched), by_search,
                                            lookup).clientsWithEvent,
                         2 * lookup(base).clientsWithEvent)
        # Scale rounds half-up and comes after inflate; zero wins over both.
        m = qm.Metrics(clientsWithEvent=5, activeSubscribers=1, activeTrials=15, billingRetry=0,
                       sales=Decimal("12.5"))
        scaled = qm.distort_metrics(base, m, qm.Distortion(scale=Decimal("0.3")), lookup)
        self.assertEqual((scaled.clientsWithEvent, scaled.activeSubscribers,
                          scaled.activeTrials, scaled.billingRetry, scaled.sales),
                         (2, 0, 5, 0, Decimal("12.5")))   # 1.5 -> 2, 0.3 -> 0, 4.5 -> 5
        both = qm.Distortion(inflate=(("country", "US", Decimal(3)),), scale=Decimal("0.5"))
        got = qm.distort_metrics(us, lookup(us), both, lookup)
        self.assertEqual(got.clientsWithEvent,
                         int((Decimal(3 * superset.clientsWithEvent) / 2).quantize(
                             Decimal(1), rounding="ROUND_HALF_UP")))
        zero = qm.Distortion(inflate=inflate.inflate, scale=Decimal(2), zero=True)
        self.assertEqual(qm.distort_metrics(us, lookup(us), zero, lookup), qm.Metrics())
        self.assertFalse(qm.Distortion())

    def test_inflate_argument(self):
        self.assertEqual(qm._inflate("country=US"), ("country", "US", Decimal(3)))
        self.assertEqual(qm._inflate("country=US:2.5"), ("country", "US", Decimal("2.5")))
        self.assertEqual(qm._inflate("media_source_name=a:b"),
                         ("media_source_name", "a:b", Decimal(3)))
        self.assertEqual(qm._inflate("search=x:0"), ("search", "x", Decimal(0)))
        for bad in ("colour=red", "country", "country=US:-1", "country=US:inf"):
            with self.assertRaises(argparse.ArgumentTypeError, msg=bad):
                qm._inflate(bad)

    def test_build_nesting(self):
        self.assertEqual(qm.build_nesting(3), "[[[]]]")
        self.assertEqual(qm.build_nesting(2, "object"), '{"a":{"a":0}}')
        self.assertEqual(len(qm.build_nesting(150000)), 300000)
        body = qm.with_nesting(qm.render_metrics(qm.Metrics()), qm.build_nesting(3))
        self.assertEqual(json.loads(body), {"nested": [[[]]], "data": json.loads(
            qm.render_metrics(qm.Metrics()))["data"]})

    def test_http_date(self):
        self.assertEqual(qm.http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT")
        self.assertEqual(qm.http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT")
        self.assertEqual(qm.http_date(1735689600.9), "Wed, 01 Jan 2025 00:00:00 GMT")

    def test_hostile_bodies_are_what_they_claim(self):
        with self.assertRaises(UnicodeDecodeError):
            qm.LATIN1_PAGE.decode("utf-8")
        self.assertIn(b"erron\xe9e", qm.LATIN1_PAGE)
        with self.assertRaises(UnicodeDecodeError):
            qm.CUT_UTF8_BODY.decode("utf-8")
        # Cut after two of the three bytes of U+2013, then the JSON closes.
        self.assertTrue(qm.CUT_UTF8_BODY.endswith(b'\xe2\x80", "errors": null}'))
        message = json.loads(qm.CONTROL_CHARS_BODY)["message"]
        self.assertEqual(message, qm.CONTROL_MESSAGE)
        for char in ("\x1b[31m", "\r\n", "\x00", "\x07", "\x7f"):
            self.assertIn(char, message)
            self.assertIn(char.encode(), qm.CONTROL_CHARS_RAW)
        self.assertIn("\x7f", qm.CONTROL_CHARS_BODY)   # raw DEL: legal in JSON text

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
        self.assertNotIn(b"k1", body)   # unless --echo-path-in-404
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
        self.assertEqual(stats["by_key_status"], {"k1": {"200": 2}})
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
        # These have their own tests below (DeepNestingTest, TextFaultTest), which share
        # servers between kinds.
        elsewhere = {"deep-nesting", "latin1-page", "cut-utf8", "control-chars",
                     "control-chars-raw"}
        failures = {
            "reset": (ConnectionError, http.client.HTTPException),
            "hang": (TimeoutError,),
            "truncated": (http.client.IncompleteRead,),
        }
        self.assertEqual(set(checks) | set(failures) | elsewhere, set(qm.FAULT_KINDS))
        # One server a kind, started side by side.
        servers = {kind: self.start("--keys", "k1", "--fail-first", "1", "--fail-kind", kind,
                                    "--hang-seconds", "2", "--retry-after", "2", customers=50,
                                    wait=False)
                   for kind in qm.FAULT_KINDS if kind not in elsewhere}
        for kind, server in servers.items():
            with self.subTest(kind=kind):
                server.await_handshake()
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



def usage_error(*args: str) -> str:
    """What the mock prints when its command line is refused (exit 2, before it listens)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            qm.parse_options(list(args))
        except SystemExit as e:
            assert e.code == 2, e.code
            return err.getvalue()
    raise AssertionError(f"accepted: {args}")


def read_log(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                         r"Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT")


class RetryAfterTest(MockTestCase):
    def test_huge_and_far_future_values_are_sent_verbatim(self):
        for value in ("86400", "Fri, 31 Dec 9999 23:59:59 GMT"):
            with self.subTest(value=value):
                server = self.start("--keys", "k1", "--fail-first", "2", "--fail-kind", "429",
                                    "--retry-after", value, customers=50)
                answers = [server.get(query()) for _ in range(3)]
                self.assertEqual([a[0] for a in answers], [429, 429, 200])
                self.assertEqual([a[1]["Retry-After"] for a in answers[:2]], [value, value])
                self.assertIsNone(answers[2][1]["Retry-After"])

    def test_http_date_seconds_ahead(self):
        # The limiter's 429 and a --fail-first 429 both carry it.
        server = self.start("--keys", "k1", "--rate-limit-per-minute", "1", "--fail-first", "1",
                            "--fail-kind", "429", "--retry-after-date-in", "86400",
                            customers=50)
        first, second = server.get(query()), server.get(query())
        self.assertEqual((first[0], second[0]), (429, 429))
        self.assertEqual(server.stats()["by_kind"], {"429": 1, "rate-limited": 1})
        for status, headers, _ in (first, second):
            value = headers["Retry-After"]
            self.assertRegex(value, IMF_FIXDATE)
            ahead = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            self.assertGreater(ahead, 86400 - 60)
            self.assertLessEqual(ahead, 86400)

    def test_both_forms_at_once_are_refused(self):
        self.assertIn("exclude each other",
                      usage_error("--retry-after", "1", "--retry-after-date-in", "5"))


class DeepNestingTest(MockTestCase):
    def test_default_depth_exact_bytes(self):
        server = self.start("--keys", "k1", "--fail-first", "1", "--fail-kind", "deep-nesting",
                            customers=50)
        status, headers, body = server.get(query())
        normal = server.get(query())[2]
        self.assertEqual(status, 200)
        self.assertEqual(body, b'{"nested": ' + b"[" * 150000 + b"]" * 150000 + b", "
                         + normal[1:])
        self.assertEqual(int(headers["Content-Length"]), len(body))
        self.assertLess(len(body), 4 << 20)
        self.assertEqual(json.loads(normal), json.loads(qm.render_metrics(
            qm.compute_metrics(qm.generate_customers(50, SEED), qm.MetricsQuery(
                since=(Y2025, Y2026))))))

    def test_object_shape_gzip_and_fault_rate(self):
        server = self.start("--keys", "k1", "--fault-rate", "1", "--fault-kinds", "deep-nesting",
                            "--nesting-depth", "400", "--nesting-shape", "object",
                            "--extra-fields")
        for _ in range(2):   # every attempt: the field is on every answer
            status, headers, body = server.get(query(), headers={"Accept-Encoding": "gzip"})
            self.assertEqual((status, headers["Content-Encoding"]), (200, "gzip"))
            doc = json.loads(gzip.decompress(body))
            node = doc.pop("nested")
            for _ in range(400):
                node = node["a"]
            self.assertEqual(node, 0)
            self.assertEqual(doc, json.loads(qm.render_metrics(expected(since=(Y2025, Y2026)),
                                                               extra_fields=True)))

    def test_depth_must_be_positive(self):
        self.assertIn("--nesting-depth", usage_error("--nesting-depth", "0"))


class TextFaultTest(MockTestCase):
    def test_bytes_and_headers(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = os.path.join(tmp.name, "a.jsonl")
        want = {   # kind: (status, Content-Type, body)
            "latin1-page": (502, "text/html", qm.LATIN1_PAGE),
            "cut-utf8": (500, "application/json; charset=utf-8", qm.CUT_UTF8_BODY),
            "control-chars": (500, "application/json; charset=utf-8",
                              qm.CONTROL_CHARS_BODY.encode()),
            "control-chars-raw": (500, "text/plain; charset=utf-8", qm.CONTROL_CHARS_RAW),
        }
        server = self.start("--keys", "k1", "--fault-rate", "1", "--fault-kinds",
                            ",".join(want), "--answer-log", log, customers=50)
        seen = {}
        for i in range(40):
            status, headers, body = server.get(query(since=(Y2025 + i, Y2026)))
            seen[body] = (status, headers["Content-Type"], body)
        self.assertEqual(sorted(seen.values()), sorted(want.values()))
        # The answer log stays valid UTF-8 JSON: invalid bytes become U+FFFD.
        logged = {r["kind"]: r["body"] for r in read_log(log)}
        self.assertIn("erron\ufffde", logged["latin1-page"])
        self.assertIn("Server \ufffd", logged["cut-utf8"])
        self.assertEqual(logged["control-chars-raw"], qm.CONTROL_CHARS_RAW.decode())

    def test_status_can_be_set(self):
        server = self.start("--keys", "k1", "--fail-first", "1", "--fail-kind", "latin1-page",
                            "--text-fault-status", "400", customers=50)
        self.assertEqual(server.get(query())[::2], (400, qm.LATIN1_PAGE))
        self.assertEqual(server.get(query())[0], 200)


class RedirectTest(MockTestCase):
    def test_every_request_is_redirected_to_itself_under_moved(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = os.path.join(tmp.name, "a.jsonl")
        server = self.start("--keys", "k1", "--redirect-all", "301", "--answer-log", log,
                            customers=50)
        base = f"http://127.0.0.1:{server.port}/moved"
        for path, method in ((server.path(query()), "GET"), ("/elsewhere?x=1", "GET"),
                             (server.path(), "POST"), (server.path(query(), key="nope"), "GET")):
            with self.subTest(path=path, method=method):
                status, headers, body = server.request(path, method=method)
                self.assertEqual((status, headers["Location"]), (301, base + path))
                self.assertEqual(body.decode(), qm._NGINX_PAGE.format(
                    title="301 Moved Permanently"))
                self.assertEqual(headers["Content-Type"], "text/html")
        # The control endpoints are not redirected.
        stats = server.stats()
        self.assertEqual(stats["by_status"], {"301": 4})
        self.assertEqual(stats["by_kind"], {"redirect": 4})
        self.assertEqual({r["kind"] for r in read_log(log)}, {"redirect"})

    def test_a_fixed_location(self):
        # The other statuses differ only by their REDIRECT_STATUSES line.
        server = self.start("--keys", "k1", "--redirect-all", "308",
                            "--redirect-location", "https://api.example.com/v1", customers=10)
        got, headers, body = server.get(query())
        self.assertEqual((got, headers["Location"]), (308, "https://api.example.com/v1"))
        self.assertIn(b"<h1>308 Permanent Redirect</h1>", body)
        self.assertEqual(qm.parse_options(["--redirect-all", "307"]).redirect_all, 307)
        self.assertIn("--redirect-all", usage_error("--redirect-all", "304"))


class EchoPathTest(MockTestCase):
    WRONG = "/api/v1/analytics/secret_key_1/customers-metrics"   # base_url with a stray /api

    def test_text(self):
        server = self.start("--keys", "secret_key_1", "--echo-path-in-404", customers=50)
        target = self.WRONG + "?filter[since][]=1&filter[since][]=2"
        status, headers, body = server.request(target)
        self.assertEqual((status, headers["Content-Type"]), (404, "text/html; charset=utf-8"))
        self.assertEqual(body.decode(), qm._EXPRESS_404.format(
            method="GET", target=target.replace("&", "&amp;")))
        self.assertIn(b"<pre>Cannot GET /api/v1/analytics/secret_key_1/customers-metrics?", body)
        status, _, body = server.request(self.WRONG, method="POST")
        self.assertEqual((status, body.count(b"Cannot POST " + self.WRONG.encode())), (404, 1))
        # The right path still answers.
        self.assertEqual(server.get(query(), key="secret_key_1")[0], 200)

    def test_json(self):
        server = self.start("--keys", "secret_key_1", "--echo-path-in-404", "json", customers=50)
        status, headers, body = server.request(self.WRONG + "?environment=1")
        self.assertEqual((status, headers["Content-Type"]), (404, "application/json; charset=utf-8"))
        self.assertEqual(json.loads(body), {
            "status": 404, "error": "Not Found", "path": self.WRONG,
            "message": f"No route for GET {self.WRONG}?environment=1"})


class StormTest(MockTestCase):
    def test_forever(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = os.path.join(tmp.name, "a.jsonl")
        args = ("--keys", "k1", "--storm-seconds", "inf", "--fault-seed", "3")
        server = self.start(*args, "--answer-log", log, customers=50)
        raws = [query(since=(Y2025 + i, Y2026)) for i in range(12)]
        statuses = [server.get(raw)[0] for raw in raws]
        self.assertLessEqual(set(statuses), {500, 502, 503})
        self.assertGreaterEqual(len(set(statuses)), 2)
        # Before the key check: a wrong key gets the storm too, and so does a retry.
        self.assertIn(server.get(raws[0], key="nope")[0], {500, 502, 503})
        self.assertIn(server.get(raws[0])[0], {500, 502, 503})
        self.assertEqual({(r["fault"], r["status"] // 100) for r in read_log(log)}, {("storm", 5)})
        # The same draws on another run.
        again = self.start(*args, customers=50)
        self.assertEqual([again.get(raw)[0] for raw in raws], statuses)

    def test_chosen_kinds(self):
        server = self.start("--keys", "k1", "--storm-seconds", "inf", "--storm-kinds", "reset",
                            customers=10)
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            server.get(query())
        self.assertIn("needs a valid query", usage_error("--storm-kinds", "500,truncated"))
        self.assertIn("--storm-seconds", usage_error("--storm-seconds", "-1"))

    def test_ends_after_its_seconds(self):
        server = self.start("--keys", "k1", "--storm-seconds", "1", customers=50)
        statuses = []
        while 200 not in statuses and len(statuses) < 200:
            statuses.append(server.get(query())[0])
            time.sleep(0.02)
        statuses += [server.get(query(since=(Y2025 + i, Y2026)))[0] for i in range(3)]
        first_ok = statuses.index(200)
        self.assertGreater(first_ok, 0)
        self.assertLessEqual(set(statuses[:first_ok]), {500, 502, 503})
        self.assertEqual(set(statuses[first_ok:]), {200})
        stats = server.stats()
        start = stats["now"] - stats["uptime_seconds"]
        ages = [t - start for t in stats["request_times_by_key"]["k1"]]
        self.assertLess(max(ages[:first_ok]), 1.0)
        self.assertGreaterEqual(ages[first_ok], 1.0)


class RateLimitShapeTest(MockTestCase):
    def test_burst_allowance_and_429s_per_key(self):
        server = self.start("--keys", "k1,k2", "--rate-limit-per-minute", "6",
                            "--rate-limit-burst", "3", customers=50)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        k1 = [server.request(server.path(query()), conn=conn)[0] for _ in range(5)]
        k2 = [server.request(server.path(query(), key="k2"), conn=conn)[0] for _ in range(3)]
        conn.close()
        self.assertEqual((k1, k2), ([200, 200, 200, 429, 429], [200, 200, 200]))
        stats = server.stats()
        self.assertEqual(stats["by_key_status"], {"k1": {"200": 3, "429": 2}, "k2": {"200": 3}})
        self.assertEqual(stats["by_kind"], {"ok": 6, "rate-limited": 2})

    def test_strict_bucket_refuses_what_the_tolerant_one_forgives(self):
        strict = self.start("--keys", "k1", "--rate-limit-per-minute", "60",
                            "--rate-limit-tolerance-ms", "0", customers=50)
        tolerant = self.start("--keys", "k1", "--rate-limit-per-minute", "60",
                              "--rate-limit-tolerance-ms", "500", customers=50)
        servers = (strict, tolerant)
        self.assertEqual([s.get(query())[0] for s in servers], [200, 200])
        time.sleep(0.75)   # 250 ms early for an interval of 1 s
        second = [s.get(query())[0] for s in servers]
        for server in servers:   # the test only means something if the gap was in (0.5, 1)
            t = server.stats()["request_times_by_key"]["k1"]
            self.assertTrue(0.5 <= t[1] - t[0] < 1.0, t)
        self.assertEqual(second, [429, 200])
        self.assertEqual(qm.parse_options(["--rate-limit-tolerance-ms", "0"])
                         .rate_limit_tolerance_ms, 0)
        self.assertIn("strict", usage_error("--rate-limit-tolerance-ms", "-1"))
        self.assertIn("--rate-limit-burst", usage_error("--rate-limit-burst", "0"))

    def test_count_rejected(self):
        server = self.start("--keys", "k1", "--rate-limit-per-minute", "60",
                            "--rate-limit-tolerance-ms", "0", "--rate-limit-count-rejected",
                            customers=50)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        self.assertEqual([server.request(server.path(query()), conn=conn)[0] for _ in range(6)],
                         [200] + [429] * 5)
        conn.close()
        time.sleep(1.2)   # past one interval (allowed without the flag: the limiter's test),
        self.assertEqual(server.get(query())[0], 429)   # short of the six the refusals cost
        t = server.stats()["request_times_by_key"]["k1"]
        self.assertTrue(t[5] - t[0] < 1.0 and 1.0 <= t[6] - t[0] < 6.0, t)


class DataCheckAnswerTest(MockTestCase):
    """Answers that break the rules a consistent API keeps; the answer log holds what was sent."""

    def start_logged(self, *args: str):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = os.path.join(tmp.name, "a.jsonl")
        return self.start("--keys", "k1", "--answer-log", log, *args), log

    def data(self, server, raw: str) -> dict:
        status, _, body = server.get(raw)
        self.assertEqual(status, 200, body)
        return json.loads(body, parse_float=Decimal)["data"]

    def assert_logged_as_received(self, server, log: str, raws):
        bodies = [server.get(raw)[2].decode() for raw in raws]
        logged = {r["query"]: r["body"] for r in read_log(log)}
        self.assertEqual([logged[raw] for raw in raws], bodies)

    def test_inflate(self):
        server, log = self.start_logged("--inflate", "country=US",
                                        "--inflate", "media_source_name=Google & Co:2")
        since = (Y2025, Y2026)
        unfiltered = expected(since=since)
        us = self.data(server, query(country=["US"]))
        for name in qm.COUNT_FIELDS:
            self.assertEqual(us[name], 3 * getattr(unfiltered, name), name)
        self.assertGreater(us["clientsWithEvent"], unfiltered.clientsWithEvent)
        truly_us = expected(since=since, filters=(("country", ("US",)),))
        self.assertEqual(us["sales"], truly_us.sales)   # only the counts change
        several = self.data(server, query(country=["GB", "US"], status=["2"]))
        status_2 = expected(since=since, filters=(("status", ("2",)),))
        self.assertEqual(several["activeSubscribers"], 3 * status_2.activeSubscribers)
        google = self.data(server, query(media_source_name=["Google & Co"]))
        self.assertEqual(google["clientsWithEvent"], 2 * unfiltered.clientsWithEvent)
        # Others are true.
        self.assertEqual(self.data(server, query(country=["GB"]))["clientsWithEvent"],
                         expected(since=since, filters=(("country", ("GB",)),)).clientsWithEvent)
        self.assertEqual(self.data(server, query())["clientsWithEvent"],
                         unfiltered.clientsWithEvent)
        self.assert_logged_as_received(server, log, [query(country=["US"]), query()])

    def test_zero_answers(self):
        server, log = self.start_logged("--zero-answers")
        zeros = qm.render_metrics(qm.Metrics())
        for raw in (query(), query(country=["US"]), query(since=(qm.T_2015, qm.T_2027))):
            self.assertEqual(server.get(raw)[::2], (200, zeros.encode()))
        self.assert_logged_as_received(server, log, [query()])

    def test_scale_counts(self):
        server, log = self.start_logged("--scale-counts", "0.3", "--numeric-strings")
        for raw, want in ((query(), expected(since=(Y2025, Y2026))),
                          (query(country=["US"]), expected(since=(Y2025, Y2026),
                                                           filters=(("country", ("US",)),)))):
            got = self.data(server, raw)
            for name in qm.COUNT_FIELDS:
                scaled = (Decimal(getattr(want, name)) * Decimal("0.3")).quantize(
                    Decimal(1), rounding="ROUND_HALF_UP")
                self.assertEqual(got[name], str(scaled), name)
            self.assertLess(int(got["clientsWithEvent"]), want.clientsWithEvent)
            self.assertEqual(got["avgPrice"], want.avgPrice)
        self.assert_logged_as_received(server, log, [query()])
        self.assertIn("--scale-counts", usage_error("--scale-counts", "-0.5"))

if __name__ == "__main__":
    unittest.main()
