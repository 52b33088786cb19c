#!/usr/bin/env python3
"""A stand-in for Qonversion's customers-metrics endpoint (shared/API.md), for tests and the
offline demo.

    GET /v1/analytics/{projectApiKey}/customers-metrics?environment=1&filter[since][]=..&...

It answers from a deterministic set of synthetic customers, validates every query parameter the
way the documentation describes, and can misbehave on purpose (rate limits, 5xx storms,
resets, hangs, redirects, truncated, malformed, deeply nested or non-UTF-8 bodies, answers that
contradict each other) so the job's fault handling and data checks can be tested. See README.md
beside this file for every flag.

Layout: the customer generator, the query validator and the metric computation are pure
functions at the top (the self-test imports them to recompute answers independently); the
HTTP server at the bottom is a thin layer over them. Python standard library only.
"""
from __future__ import annotations

import argparse
import bisect
import dataclasses
import email.utils
import gzip
import html
import json
import operator
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal, localcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable, Optional, Sequence

HANDSHAKE_PREFIX = "QETL_MOCK_LISTENING"
DEFAULT_KEYS = ("demo_key_project_a", "demo_key_project_b")

# The API's list filters (sent as repeated filter[<name>][] keys), in API.md's order.
LIST_FILTERS = (
    "status", "target_platform", "country", "product_id", "purchase_currency", "locale",
    "model", "os_version", "app_version", "sdk_version", "media_source_name", "campaign_name",
    "ad_set_name", "ad_name", "experiment_uid", "experiment_group_uid",
)
STATUS_CODES = ("1", "2", "3", "4")  # trial/intro, active, canceled, billing retry
TARGET_PLATFORMS = ("iOS", "Android", "Stripe")
COUNTRY_RE = re.compile(r"[A-Z]{2}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
SEARCH_MAX_CHARS = 255
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1

# Unix seconds: 2015-01-01, 2025-01-01 and 2027-01-01 (exclusive end of 2026-12-31).
T_2015 = 1420070400
T_2025 = 1735689600
T_2027 = 1798761600

FAULT_KINDS = (
    "500", "502", "503", "429", "reset", "hang", "truncated", "html", "no-data",
    "non-numeric", "bad-json", "out-of-range", "empty",
    "deep-nesting", "latin1-page", "cut-utf8", "control-chars", "control-chars-raw",
)
# Kinds whose body is the request's own answer, altered: they need a valid query, so a storm
# (which strikes before validation) cannot use them.
QUERY_KINDS = ("truncated", "non-numeric", "out-of-range", "deep-nesting")
QUERY_FREE_KINDS = tuple(k for k in FAULT_KINDS if k not in QUERY_KINDS)
# The error bodies that are not clean UTF-8 text, and the status each has unless
# --text-fault-status says otherwise.
TEXT_FAULT_STATUS = {"latin1-page": 502, "cut-utf8": 500, "control-chars": 500,
                     "control-chars-raw": 500}
REDIRECT_STATUSES = {301: "Moved Permanently", 302: "Found", 303: "See Other",
                     307: "Temporary Redirect", 308: "Permanent Redirect"}


# --------------------------------------------------------------------------------------------
# Synthetic customers
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Customer:
    user_id: str
    email: str
    first_seen: int                  # Unix seconds
    environment: int                 # 0 sandbox, 1 production
    status: int                      # 1 trial/intro, 2 active, 3 canceled, 4 billing retry
    # List-filter dimensions; None = the customer has no value (never matches a filter on it).
    target_platform: Optional[str]
    country: Optional[str]
    product_id: str
    purchase_currency: str
    locale: str
    model: str
    os_version: str
    app_version: str
    sdk_version: str
    media_source_name: str
    campaign_name: Optional[str]
    ad_set_name: Optional[str]
    ad_name: Optional[str]
    experiment_uid: Optional[str]
    experiment_group_uid: Optional[str]
    # Subscription facts ("now" = the state the metrics report).
    ever_subscribed: bool
    active_now: bool
    cancelled: bool
    in_trial_now: bool
    trial_started: bool
    trial_cancelled: bool
    billing_retry_now: bool
    payments: int
    revenue_cents: int               # net of refunds, USD cents (kept integral: exact sums)

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.revenue_cents).scaleb(-2)

    @property
    def search_text(self) -> str:
        # What `search` looks in (case-insensitive substring). NUL keeps the two apart.
        return (self.user_id + "\x00" + self.email).casefold()


class _Pick:
    """A weighted choice that costs one rng.random() call (random.choices rebuilds its
    cumulative weights on every call, which made start-up slow)."""

    def __init__(self, population: Sequence, weights: Optional[Sequence[float]] = None):
        self.population = tuple(population)
        weights = weights or [1] * len(self.population)
        self.cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random):
        return self.population[bisect.bisect(self.cumulative, rng.random() * self.total)]


def _uniform_int(rng: random.Random, lo: int, hi: int) -> int:
    """An int in [lo, hi)."""
    return lo + int(rng.random() * (hi - lo))


_COUNTRY = _Pick(("US", "GB", "DE", "FR", "IT", "ES", "JP", "CN", "BR", "IN", "CA", "AU"),
                 (30, 10, 8, 6, 4, 4, 8, 6, 6, 8, 5, 5))
_CURRENCY_BY_COUNTRY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "IT": "EUR",
                        "ES": "EUR", "JP": "JPY", "BR": "BRL"}
_LOCALE_BY_COUNTRY = {"US": "en_US", "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "IT": "it_IT",
                      "ES": "es_ES", "JP": "ja_JP", "CN": "zh_CN", "BR": "pt_BR", "IN": "hi_IN",
                      "CA": "fr_CA", "AU": "en_AU"}
_STATUS = _Pick((1, 2, 3, 4), (15, 45, 32, 8))
_PLATFORM = _Pick(("iOS", "Android", "Stripe", None), (48, 40, 9, 3))
# product -> base price in USD cents (local pricing varies it a little per customer)
_PRICES = {"premium_monthly": 999, "premium_annual": 5999, "lifetime": 14999,
           "weekly_trial": 299}
_PRODUCT = _Pick(tuple(_PRICES), (45, 30, 10, 15))
_MODEL = {"iOS": _Pick(("iPhone15,2", "iPhone14,5", "iPad13,1")),
          "Android": _Pick(("Pixel 8", "SM-S918B", "Redmi Note 12")),
          "Stripe": _Pick(("web",)), None: _Pick(("unknown",))}
_OS_VERSION = {"iOS": _Pick(("17.4", "16.7.2", "18.0")), "Android": _Pick(("14", "13", "12")),
               "Stripe": _Pick(("web",)), None: _Pick(("unknown",))}
_APP_VERSION = _Pick(("2.3.0", "2.4.1", "3.0.0"))
_SDK_VERSION = _Pick(("6.2.0", "7.4.0", "8.0.1"))
# Awkward values on purpose: spaces, '&', '=', '+', '%', '/', quotes, non-ASCII. Every one must
# survive the client's percent-encoding.
_MEDIA_SOURCE = _Pick(("Organic", "Facebook Ads", "Google & Co", "Café=Ads",
                       "O'Brien \"quoted\"", "TikTok+Ads"), (40, 20, 15, 10, 10, 5))
_CAMPAIGN = _Pick(("Été 2025", "summer_sale", "50% off", "black-friday"))
_AD_SET = _Pick(("broad", "lookalike 1%", "retarget"))
_AD = _Pick(("video_a", "static b", "carousel/c"))
_EXPERIMENT = _Pick((("exp_paywall_2025", _Pick(("grp_control", "grp_variant_b"))),
                     ("exp_trial_length", _Pick(("grp_7d", "grp_14d", "grp_control")))))
_FIRST_NAME = _Pick(("anna", "zoë", "josé", "li", "o'neil", "björn", "priya", "mateo", "yuki",
                     "chloé", "sam", "noah"))
_DOMAIN = _Pick(("example.com", "mail.example.org", "exämple.de"))


def generate_customers(count: int = 20000, seed: int = 1) -> list[Customer]:
    """Deterministic synthetic customers, sorted by first_seen (then user_id).

    70 % are first seen in 2025-2026 so daily and weekly cohort windows have data; the rest are
    spread over 2015-2026. The same (count, seed) always gives the same list.
    """
    rng = random.Random(seed)
    r = rng.random
    out: list[Customer] = []
    for i in range(count):
        if r() < 0.7:
            first_seen = _uniform_int(rng, T_2025, T_2027)
        else:
            first_seen = _uniform_int(rng, T_2015, T_2027)
        environment = 0 if r() < 0.15 else 1
        status = _STATUS(rng)
        # A few customers lack a platform or a country: filtered counts then do not add up to
        # the unfiltered total, as API.md warns.
        platform = _PLATFORM(rng)
        country = _COUNTRY(rng) if r() >= 0.03 else None
        product = _PRODUCT(rng)
        media = _MEDIA_SOURCE(rng)
        if media == "Organic":
            campaign = ad_set = ad = None
        else:
            campaign, ad_set, ad = _CAMPAIGN(rng), _AD_SET(rng), _AD(rng)
        if r() < 0.4:
            exp_uid, groups = _EXPERIMENT(rng)
            exp_group = groups(rng)
        else:
            exp_uid = exp_group = None

        # Subscription facts, consistent with the status.
        in_trial_now = status == 1
        trial_started = in_trial_now or r() < 0.4
        trial_cancelled = trial_started and not in_trial_now and r() < 0.35
        ever_subscribed = status in (2, 3, 4)
        if not ever_subscribed:
            payments = 0
        elif product == "lifetime":
            payments = 1
        else:
            payments = _uniform_int(rng, 1, 25)
        price_cents = _PRICES[product] + _uniform_int(rng, -50, 51)
        revenue_cents = payments * price_cents
        if payments and r() < 0.03:  # one refunded payment
            revenue_cents -= price_cents

        out.append(Customer(
            user_id=f"user_{i:06d}",
            email=f"{_FIRST_NAME(rng)}.{i}@{_DOMAIN(rng)}",
            first_seen=first_seen, environment=environment, status=status,
            target_platform=platform, country=country, product_id=product,
            purchase_currency=_CURRENCY_BY_COUNTRY.get(country or "", "USD"),
            locale=_LOCALE_BY_COUNTRY.get(country or "", "en_US"),
            model=_MODEL[platform](rng), os_version=_OS_VERSION[platform](rng),
            app_version=_APP_VERSION(rng), sdk_version=_SDK_VERSION(rng),
            media_source_name=media, campaign_name=campaign, ad_set_name=ad_set, ad_name=ad,
            experiment_uid=exp_uid, experiment_group_uid=exp_group,
            ever_subscribed=ever_subscribed, active_now=status == 2, cancelled=status == 3,
            in_trial_now=in_trial_now, trial_started=trial_started,
            trial_cancelled=trial_cancelled, billing_retry_now=status == 4,
            payments=payments, revenue_cents=revenue_cents,
        ))
    out.sort(key=lambda c: (c.first_seen, c.user_id))
    return out


# --------------------------------------------------------------------------------------------
# Query parsing and validation
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MetricsQuery:
    """A validated request. Hashable: it is also the answer cache's key."""
    environment: int = 1
    since: Optional[tuple[int, int]] = None             # None: the API answers all zeros
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dimension, values) as sent
    search: Optional[str] = None

    def filters_dict(self) -> dict[str, list[str]]:
        return {dim: list(values) for dim, values in self.filters}


class ValidationError(Exception):
    """A 400. `envelope` is "error" ({"error": {...}}) or "errors" ({"success": false, ...})."""

    def __init__(self, message: str, field: str, envelope: str = "error"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.envelope = envelope

    def body(self) -> str:
        if self.envelope == "errors":
            return json.dumps({"success": False, "message": "Unprocessable request params",
                               "errors": {self.field: [self.message]}}, ensure_ascii=False)
        return json.dumps({"error": {"code": "validation_error", "message": self.message,
                                     "type": "request"}}, ensure_ascii=False)


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Splits a raw query string into decoded (name, value) pairs, in order.

    Each '&'-separated piece is decoded on its own, so brackets may arrive raw
    (filter[country][]=US) or percent-encoded (filter%5Bcountry%5D%5B%5D=US), and '+' is a
    space. Empty pieces (a trailing '&') are ignored; a piece without '=' has an empty value.
    """
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if piece:
            pairs.extend(urllib.parse.parse_qsl(piece, keep_blank_values=True,
                                                strict_parsing=False))
    return pairs


_LIST_KEY_RE = re.compile(r"filter\[([A-Za-z_]+)\]\[\]")
_SCALAR_FILTER_KEY_RE = re.compile(r"filter\[([A-Za-z_]+)\]")


def _check_list_value(dim: str, value: str) -> None:
    key = f"filter[{dim}][]"
    if value == "":
        raise ValidationError(f"{key} values must not be empty", key)
    if dim == "status" and value not in STATUS_CODES:
        raise ValidationError(f"{key} value {value!r} must be one of 1, 2, 3, 4", key)
    if dim == "target_platform" and value not in TARGET_PLATFORMS:
        raise ValidationError(f"{key} value {value!r} must be one of iOS, Android, Stripe", key)
    # The two pattern checks answer with the other documented envelope, for variety.
    if dim == "country" and not COUNTRY_RE.fullmatch(value):
        raise ValidationError(f"value {value!r} must match ^[A-Z]{{2}}$ (ISO 3166-1 alpha-2)",
                              "filter[country]", envelope="errors")
    if dim == "purchase_currency" and not CURRENCY_RE.fullmatch(value):
        raise ValidationError(f"value {value!r} must match ^[A-Z]{{3}}$ (ISO 4217)",
                              "filter[purchase_currency]", envelope="errors")


def _parse_int64(text: str) -> Optional[int]:
    if not re.fullmatch(r"-?[0-9]{1,19}", text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def validate_query(pairs: Sequence[tuple[str, str]]) -> MetricsQuery:
    """Validates decoded pairs as API.md documents; raises ValidationError on the first problem."""
    environment: Optional[int] = None
    search: Optional[str] = None
    since_values: list[str] = []
    filters: dict[str, list[str]] = {}  # insertion order = order of first appearance
    for name, value in pairs:
        if name == "environment":
            if environment is not None:
                raise ValidationError("environment must be given at most once", name)
            if value not in ("0", "1"):
                raise ValidationError(f"environment must be 0 (sandbox) or 1 (production), "
                                      f"got {value!r}", name)
            environment = int(value)
        elif name == "search":
            if search is not None:
                raise ValidationError("search must be given at most once", name)
            if len(value) > SEARCH_MAX_CHARS:
                raise ValidationError(f"search must be at most {SEARCH_MAX_CHARS} characters, "
                                      f"got {len(value)}", name)
            search = value
        elif name == "filter[since][]":
            if _parse_int64(value) is None:
                raise ValidationError(f"filter[since][] value {value!r} is not an int64 Unix "
                                      f"timestamp", name)
            since_values.append(value)
        elif (m := _LIST_KEY_RE.fullmatch(name)) and m.group(1) in LIST_FILTERS:
            _check_list_value(m.group(1), value)
            filters.setdefault(m.group(1), []).append(value)
        elif (m := _SCALAR_FILTER_KEY_RE.fullmatch(name)) and (
                m.group(1) in LIST_FILTERS or m.group(1) == "since"):
            raise ValidationError(f"{name} is a list parameter: send it as {name}[] "
                                  f"(repeated for several values)", name)
        else:
            raise ValidationError(f"unknown query parameter {name!r}", name)

    since: Optional[tuple[int, int]] = None
    if since_values:
        if len(since_values) != 2:
            raise ValidationError(f"filter[since][] must be given exactly twice (from, to), "
                                  f"got {len(since_values)} value(s)", "filter[since][]")
        lo, hi = (int(v) for v in since_values)
        if lo > hi:
            raise ValidationError(f"filter[since][]: from ({lo}) is after to ({hi})",
                                  "filter[since][]")
        since = (lo, hi)
    return MetricsQuery(
        environment=1 if environment is None else environment,
        since=since,
        filters=tuple((dim, tuple(values)) for dim, values in filters.items()),
        search=search,
    )


def describe_pairs(pairs: Sequence[tuple[str, str]]) -> dict:
    """Best-effort view of a request for the answer log, valid or not."""
    env_values = [v for n, v in pairs if n == "environment"]
    environment: Optional[int] = 1
    if env_values:
        environment = int(env_values[0]) if env_values[0] in ("0", "1") else None
    since_values = [_parse_int64(v) for n, v in pairs if n == "filter[since][]"]
    since = since_values if len(since_values) == 2 and None not in since_values else None
    filters: dict[str, list[str]] = {}
    for name, value in pairs:
        m = _LIST_KEY_RE.fullmatch(name)
        if m and m.group(1) in LIST_FILTERS:
            filters.setdefault(m.group(1), []).append(value)
    search = next((v for n, v in pairs if n == "search"), None)
    return {"environment": environment, "since": since, "filters": filters, "search": search}


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Metrics:
    clientsWithEvent: int = 0
    activeSubscribers: int = 0
    churnedSubscribers: Decimal = Decimal(0)   # percentage 0-100, 2 decimals
    activeTrials: int = 0
    canceledTrials: Decimal = Decimal(0)       # percentage 0-100, 2 decimals
    billingRetry: int = 0
    avgPaymentCount: Decimal = Decimal(0)      # payments per paying customer, 2 decimals
    avgPrice: Decimal = Decimal(0)             # revenue per payment, 2 decimals
    sales: Decimal = Decimal(0)                # exact revenue, 2 decimals


COUNT_FIELDS = ("clientsWithEvent", "activeSubscribers", "activeTrials", "billingRetry")
METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(Metrics))
_CENT = Decimal("0.01")


def _ratio(numerator: int | Decimal, denominator: int, scale: int = 1) -> Decimal:
    """numerator * scale / denominator rounded half-up to 2 decimals; 0 when denominator is 0."""
    if denominator == 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 50
        return (Decimal(numerator) * scale / Decimal(denominator)).quantize(
            _CENT, rounding=ROUND_HALF_UP)


def _matcher(query: MetricsQuery):
    checks = []
    for dim, values in query.filters:
        allowed = frozenset(values)
        if dim == "status":  # the status code compared as a string, as the API sends it
            checks.append((lambda c: str(c.status), allowed))
        else:
            checks.append((lambda c, d=dim: getattr(c, d), allowed))
    needle = query.search.casefold() if query.search else None
    lo, hi = query.since if query.since else (0, 0)

    def matches(c: Customer) -> bool:
        if c.environment != query.environment or not (lo <= c.first_seen < hi):
            return False
        if needle is not None and needle not in c.search_text:
            return False
        return all(get(c) in allowed for get, allowed in checks)

    return matches


# Boolean facts counted by the metrics, and the two per-customer numbers that are summed.
_FLAG_FACTS = ("active_now", "in_trial_now", "billing_retry_now", "ever_subscribed",
               "cancelled", "trial_started", "trial_cancelled", "paying")
_SUMMED_FACTS = ("payments", "revenue_cents")


def _fact(c: Customer, name: str) -> int:
    return int(c.payments > 0) if name == "paying" else int(getattr(c, name))


def _metrics_from_totals(n: int, t: dict[str, int]) -> Metrics:
    """Metrics from the count of matching customers and the totals of every fact over them."""
    sales = Decimal(t["revenue_cents"]).scaleb(-2)
    return Metrics(
        clientsWithEvent=n,
        activeSubscribers=t["active_now"],
        churnedSubscribers=_ratio(t["cancelled"], t["ever_subscribed"], 100),
        activeTrials=t["in_trial_now"],
        canceledTrials=_ratio(t["trial_cancelled"], t["trial_started"], 100),
        billingRetry=t["billing_retry_now"],
        avgPaymentCount=_ratio(t["payments"], t["paying"]),
        avgPrice=_ratio(sales, t["payments"]),
        sales=sales,
    )


def compute_metrics(customers: Iterable[Customer], query: MetricsQuery) -> Metrics:
    """The 200 answer's numbers: customers of query.environment first seen in [from, to) and
    matching every filter (a list filter matches when the customer's value is in the list) and
    the search (case-insensitive substring of user id or e-mail). No since range: all zeros.

    The reference definition, a plain loop; the server answers through CustomerIndex, which
    must agree with it (the self-test checks that)."""
    if query.since is None:
        return Metrics()
    matches = _matcher(query)
    n = 0
    totals = dict.fromkeys(_FLAG_FACTS + _SUMMED_FACTS, 0)
    for c in customers:
        if matches(c):
            n += 1
            for name in totals:
                totals[name] += _fact(c, name)
    return _metrics_from_totals(n, totals)


def _bitmask(positions: Iterable[int], nbits: int) -> int:
    buf = bytearray((nbits + 7) // 8)
    for i in positions:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


class CustomerIndex:
    """The same answers as compute_metrics, fast enough for thousands of requests.

    Customers are sorted by first_seen, so a since range is a run of bit positions; every
    filter value, environment and fact is a Python int used as a bitset over those positions.
    A request is then a few dozen AND/OR/popcount operations on 20,000-bit integers instead of
    a Python loop over every customer (~0.5 ms instead of ~30 ms). Summed facts (payments,
    revenue) are stored bit-sliced: sum = sum over k of 2^k * popcount(mask & plane_k).
    """

    def __init__(self, customers: Iterable[Customer]):
        self.customers = sorted(customers, key=lambda c: (c.first_seen, c.user_id))
        self._first_seen = [c.first_seen for c in self.customers]
        n = len(self.customers)
        customers = self.customers
        values: dict[str, dict[str, list[int]]] = {dim: {} for dim in LIST_FILTERS}
        for i, row in enumerate(map(operator.attrgetter(*LIST_FILTERS), customers)):
            for dim, value in zip(LIST_FILTERS, row):
                if value is not None:
                    values[dim].setdefault(str(value), []).append(i)
        self._values = {dim: {v: _bitmask(p, n) for v, p in by_value.items()}
                        for dim, by_value in values.items()}
        self._environment = {
            env: _bitmask([i for i, c in enumerate(customers) if c.environment == env], n)
            for env in (0, 1)}
        self._flags = {name: _bitmask([i for i, c in enumerate(customers) if _fact(c, name)], n)
                       for name in _FLAG_FACTS}
        # Bit planes of (value - minimum), so negative values would work too.
        self._planes: dict[str, tuple[int, list[int]]] = {}
        for name in _SUMMED_FACTS:
            column = [getattr(c, name) for c in customers]
            offset = min(column, default=0)
            column = [v - offset for v in column]
            width = max(column, default=0).bit_length()
            self._planes[name] = (offset, [
                _bitmask([i for i, v in enumerate(column) if v >> k & 1], n)
                for k in range(width)])
        self._search_cache: dict[str, int] = {}
        self._lock = threading.Lock()

    def _search_mask(self, search: str) -> int:
        with self._lock:
            cached = self._search_cache.get(search)
        if cached is None:
            needle = search.casefold()
            cached = _bitmask((i for i, c in enumerate(self.customers)
                               if needle in c.search_text), len(self.customers))
            with self._lock:
                if len(self._search_cache) > 1024:
                    self._search_cache.clear()
                self._search_cache[search] = cached
        return cached

    def metrics(self, query: MetricsQuery) -> Metrics:
        if query.since is None:
            return Metrics()
        lo = bisect.bisect_left(self._first_seen, query.since[0])
        hi = bisect.bisect_left(self._first_seen, query.since[1])
        mask = ((1 << hi) - 1) ^ ((1 << lo) - 1)  # positions lo .. hi-1
        mask &= self._environment[query.environment]
        for dim, values in query.filters:
            allowed = 0
            for value in values:
                allowed |= self._values[dim].get(value, 0)
            mask &= allowed
        if query.search:
            mask &= self._search_mask(query.search)
        n = mask.bit_count()
        totals = {name: (mask & bits).bit_count() for name, bits in self._flags.items()}
        for name, (offset, planes) in self._planes.items():
            totals[name] = offset * n + sum((mask & plane).bit_count() << k
                                            for k, plane in enumerate(planes))
        return _metrics_from_totals(n, totals)


def format_decimal(value: Decimal) -> str:
    """Exact decimal text as a JSON number: no exponent, no trailing zeros ("2.40" -> "2.4",
    "3.00" -> "3", zero -> "0")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def render_metrics(metrics: Metrics, *, numeric_strings: bool = False,
                   extra_fields: bool = False) -> str:
    """The 200 body. Written by hand so decimals keep their exact text.

    numeric_strings: the four counters as JSON strings ("1284"), as Qonversion's v4 API does.
    extra_fields: unknown fields (scalars, null, nested objects and arrays) at the top level
    and inside "data", which a client must ignore.
    """
    parts = []
    if extra_fields:
        parts.append('"currency": "USD"')
    for name in METRIC_FIELDS:
        value = getattr(metrics, name)
        if name in COUNT_FIELDS:
            text = f'"{value}"' if numeric_strings else str(value)
        else:
            text = format_decimal(value)
        parts.append(f'"{name}": {text}')
    if extra_fields:
        parts.append('"cohortBreakdown": [{"day": 1, "value": 2.5, "tags": ["a", null]}]')
        parts.append('"isEstimate": false')
        parts.append('"note": null')
    data = "{" + ", ".join(parts) + "}"
    if extra_fields:
        return ('{"success": true, "meta": {"source": "qonversion-mock", "version": 2, '
                '"nested": {"deep": [1, 2.5e3, "x", {"y": true}]}}, "data": ' + data
                + ', "requestId": "mock-0001"}')
    return '{"data": ' + data + "}"


# --------------------------------------------------------------------------------------------
# Answers that contradict each other (for the job's data checks)
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Distortion:
    """Deterministic changes to the counts a 200 answer carries, so that one night's answers
    break the rules a consistent API keeps. Applied in this order: inflate, scale, zero."""
    # (dimension or "search", value, factor): a request filtering DIM on VALUE answers FACTOR x
    # the counts of the same request without DIM, i.e. of its superset on DIM. The first
    # matching rule applies.
    inflate: tuple[tuple[str, str, Decimal], ...] = ()
    scale: Optional[Decimal] = None   # every count x this (half-up to an integer)
    zero: bool = False                # all nine metrics 0

    def __bool__(self) -> bool:
        return bool(self.inflate) or self.scale is not None or self.zero


def _scaled(count: int, factor: Decimal) -> int:
    return int((Decimal(count) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _filters_on(query: MetricsQuery, dim: str, value: str) -> bool:
    if dim == "search":
        return query.search == value
    return any(d == dim and value in values for d, values in query.filters)


def _without(query: MetricsQuery, dim: str) -> MetricsQuery:
    if dim == "search":
        return dataclasses.replace(query, search=None)
    return dataclasses.replace(query, filters=tuple(f for f in query.filters if f[0] != dim))


def distort_metrics(query: MetricsQuery, metrics: Metrics, distortion: Distortion,
                    lookup) -> Metrics:
    """The metrics of `query` after `distortion`; `lookup(query)` gives the true metrics of
    another query (the superset an inflated cell is measured against)."""
    if distortion.zero:
        return Metrics()
    counts = {name: getattr(metrics, name) for name in COUNT_FIELDS}
    for dim, value, factor in distortion.inflate:
        if _filters_on(query, dim, value):
            superset = lookup(_without(query, dim))
            counts = {name: _scaled(getattr(superset, name), factor) for name in COUNT_FIELDS}
            break
    if distortion.scale is not None:
        counts = {name: _scaled(n, distortion.scale) for name, n in counts.items()}
    return dataclasses.replace(metrics, **counts)


# --------------------------------------------------------------------------------------------
# Hostile bodies
# --------------------------------------------------------------------------------------------

def build_nesting(depth: int, shape: str = "array") -> str:
    """A JSON value nested `depth` levels deep: [[[...]]] (2 bytes a level) or
    {"a": {"a": ... 0}} (6 bytes a level). Built once at start-up, not per answer."""
    if shape == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "0" + "}" * depth


def with_nesting(body: str, nesting: str) -> str:
    """A rendered 200 body with the unknown field "nested" first, so that no parser reaches
    "data" without going through it."""
    return '{"nested": ' + nesting + ", " + body[1:]


# A Latin-1 proxy error page (é = 0xE9, ç = 0xE7, à = 0xE0): not UTF-8.
LATIN1_PAGE = ("<html>\r\n<head><title>502 Passerelle erron\u00e9e</title></head>\r\n<body>\r\n"
               "<h1>Passerelle erron\u00e9e</h1>\r\n<p>Le serveur mandataire a re\u00e7u une "
               "r\u00e9ponse invalide du serveur en amont. R\u00e9essayez ult\u00e9rieurement."
               "</p>\r\n<hr>Proxy \u00e0 l'accueil\r\n</body>\r\n</html>\r\n").encode("latin-1")
# A JSON error whose message a server cut at a byte count, inside the 3-byte "–" (E2 80 93).
_CUT_MESSAGE = "Zeitüberschreitung beim Upstream-Server – bitte später".encode("utf-8")
CUT_UTF8_BODY = (b'{"success": false, "message": "'
                 + _CUT_MESSAGE[: _CUT_MESSAGE.index("–".encode("utf-8")) + 2]
                 + b'", "errors": null}')
# Terminal escapes, a line break that forges a log line, NUL, BEL and DEL.
CONTROL_MESSAGE = ("\x1b[31mERROR\x1b[0m upstream failed\x1b]0;pwned\x07\r\n"
                   "2025-01-01T00:00:00Z INFO run finished: 0 cells failed\x00\x7f")
# Valid JSON: the control characters are escaped (\u001b), DEL (legal raw in JSON) is not.
CONTROL_CHARS_BODY = json.dumps({"success": False, "message": CONTROL_MESSAGE, "errors": None},
                                ensure_ascii=False)
CONTROL_CHARS_RAW = ("upstream error: " + CONTROL_MESSAGE + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Rate limiting, faults, bookkeeping
# --------------------------------------------------------------------------------------------

class RateLimiter:
    """Per-key token bucket of capacity `burst` refilled at R/60 tokens a second, as a GCRA.

    A request is allowed when it arrives no earlier than its theoretical arrival time minus
    (burst - 1) intervals minus a small tolerance. With burst 1 the tolerance (at most half the
    interval) absorbs scheduling jitter, so a client that spaces its requests exactly 60/R s
    apart is never refused, while two requests back to back always are; tolerance 0 is a strict
    bucket that forgives nothing. Refused requests consume no capacity unless count_rejected:
    then each one pushes the next allowed time back by one interval, as servers that count
    every request do.
    """

    def __init__(self, per_minute: float, tolerance_s: float = 0.05, burst: int = 1,
                 count_rejected: bool = False):
        self.interval = 60.0 / per_minute
        self.tolerance = min(tolerance_s, self.interval / 2)
        self.slack = (burst - 1) * self.interval + self.tolerance
        self.count_rejected = count_rejected
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        with self._lock:
            tat = self._tat.get(key, now)
            if now < tat - self.slack:
                if self.count_rejected:
                    self._tat[key] = tat + self.interval
                return False
            self._tat[key] = max(tat, now) + self.interval
            return True

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()


@dataclasses.dataclass
class FaultConfig:
    fail_first: int = 0
    fail_kind: str = "500"
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("500",)
    fault_seed: int = 7
    fail_segments: tuple[tuple[str, str], ...] = ()  # (dimension or "search", value)
    storm_seconds: float = 0.0                        # inf: the storm never ends
    storm_kinds: tuple[str, ...] = ("500", "502", "503")

    def storm(self, identity: str, attempt: int, elapsed: float) -> Optional[str]:
        """The kind every request gets while the server is younger than storm_seconds, drawn
        like --fault-rate's (from the seed, the request and its attempt); None after it."""
        if elapsed >= self.storm_seconds:
            return None
        return random.Random(f"storm|{self.fault_seed}|{identity}|{attempt}").choice(
            self.storm_kinds)

    def decide(self, identity: str, attempt: int,
               query: MetricsQuery) -> tuple[Optional[str], Optional[str]]:
        """(kind, source) of the fault for this attempt, or (None, None) to answer normally.

        Deterministic: depends only on the request, its attempt number and the fault seed, not
        on the order in which concurrent requests arrive."""
        filters = dict(query.filters)
        for dim, value in self.fail_segments:
            if (dim == "search" and query.search == value) or value in filters.get(dim, ()):
                return "500", "fail-segment"
        if attempt <= self.fail_first:
            return self.fail_kind, "fail-first"
        if self.fault_rate > 0:
            rng = random.Random(f"{self.fault_seed}|{identity}|{attempt}")
            if rng.random() < self.fault_rate:
                return rng.choice(self.fault_kinds), "fault-rate"
        return None, None


class Stats:
    """Counters served by GET /__stats (cleared by POST /__reset)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.in_flight = 0
        self.in_flight_by_key: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        """Clears everything but the requests in flight right now (they still end)."""
        with self._lock:
            self.requests_total = 0
            self.by_status: dict[str, int] = {}
            self.by_kind: dict[str, int] = {}
            self.by_key: dict[str, int] = {}
            self.by_key_status: dict[str, dict[str, int]] = {}
            self.connections_accepted = 0
            self.max_in_flight = self.in_flight
            self.max_in_flight_by_key = {k: n for k, n in self.in_flight_by_key.items() if n}
            self.request_times_by_key: dict[str, list[float]] = {}
            self.attempts: dict[str, int] = {}

    def connection(self) -> None:
        with self._lock:
            self.connections_accepted += 1

    def begin(self, key: Optional[str], now: float) -> None:
        with self._lock:
            self.requests_total += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if key is not None:
                self.by_key[key] = self.by_key.get(key, 0) + 1
                self.request_times_by_key.setdefault(key, []).append(now)
                n = self.in_flight_by_key.get(key, 0) + 1
                self.in_flight_by_key[key] = n
                self.max_in_flight_by_key[key] = max(self.max_in_flight_by_key.get(key, 0), n)

    def end(self, key: Optional[str]) -> None:
        with self._lock:
            self.in_flight -= 1
            if key is not None:
                self.in_flight_by_key[key] = self.in_flight_by_key.get(key, 1) - 1

    def record(self, status: Optional[int], kind: str, key: Optional[str] = None) -> None:
        with self._lock:
            if status is not None:
                self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1
                if key is not None:
                    per_key = self.by_key_status.setdefault(key, {})
                    per_key[str(status)] = per_key.get(str(status), 0) + 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    def next_attempt(self, identity: str) -> int:
        with self._lock:
            n = self.attempts.get(identity, 0) + 1
            self.attempts[identity] = n
            return n

    def to_json(self) -> str:
        with self._lock:
            return json.dumps({
                "requests_total": self.requests_total,
                "by_status": self.by_status,
                "by_kind": self.by_kind,
                "by_key": self.by_key,
                "by_key_status": self.by_key_status,
                "connections_accepted": self.connections_accepted,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "max_in_flight_by_key": self.max_in_flight_by_key,
                "request_times_by_key": self.request_times_by_key,
                "now": time.monotonic(),
                "uptime_seconds": time.monotonic() - self.started,
            }, ensure_ascii=False)


class AnswerLog:
    """One JSON line per answered (or failed) request, flushed at once; thread-safe."""

    def __init__(self, path: Optional[str]):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            with self._lock:
                self._file.close()
                self._file = None


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

_ENDPOINT_RE = re.compile(r"/v1/analytics/([^/]*)/customers-metrics")
_UNAUTHORIZED = {"success": False, "message": "Invalid or missing Project API Key", "errors": None}
_RATE_LIMITED = {"success": False, "message": "Rate limit exceeded", "errors": None}
_HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
             "</body>\r\n</html>\r\n")
_NGINX_PAGE = ("<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
               "<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
               "</body>\r\n</html>\r\n")
_EXPRESS_404 = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                "<title>Error</title>\n</head>\n<body>\n<pre>Cannot {method} {target}</pre>\n"
                "</body>\n</html>\n")
_HTML_PROXY = ("<!DOCTYPE html>\n<html><head><title>Corporate proxy</title></head>\n<body><h1>"
               "Access to this site requires authentication</h1>\n<p>Please sign in to the "
               "proxy to continue.</p></body></html>\n")


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def http_date(unix_seconds: float) -> str:
    """IMF-fixdate (RFC 9110), e.g. "Fri, 31 Dec 9999 23:59:59 GMT"."""
    return email.utils.formatdate(unix_seconds, usegmt=True)


@dataclasses.dataclass
class Reply:
    """What a request gets. status None = no HTTP answer (reset, hang)."""
    status: Optional[int]
    kind: str
    body: str = ""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    fault: Optional[str] = None   # fail-first | fault-rate | fail-segment | storm
    payload: Optional[bytes] = None   # bytes to send when they are not body's UTF-8


def _bytes_reply(status: int, kind: str, payload: bytes, content_type: str) -> Reply:
    """A reply whose bytes need not be UTF-8; the answer log gets them decoded with U+FFFD
    for each invalid byte."""
    return Reply(status, kind, payload.decode("utf-8", "replace"), content_type=content_type,
                 payload=payload)


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _sent_text(reply: Reply) -> Optional[str]:
    """The body text a reply puts on the wire (before gzip), for the answer log."""
    if reply.kind in ("reset", "hang"):
        return None
    if reply.kind == "truncated":
        return _truncate(reply.body.encode("utf-8")).decode("utf-8", "replace")
    return reply.body


class MockServer(ThreadingHTTPServer):
    request_queue_size = 128   # bursts of connections from a concurrent client must not be refused
    daemon_threads = True

    def __init__(self, address, options: argparse.Namespace, index: CustomerIndex):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.options = options
        self.index = index
        self.keys = frozenset(k for k in options.keys.split(",") if k)
        self.forbidden_keys = frozenset(k for k in options.forbidden_keys.split(",") if k)
        self.stats = Stats()
        self.answer_log = AnswerLog(options.answer_log)
        self.limiter = (RateLimiter(options.rate_limit_per_minute,
                                    options.rate_limit_tolerance_ms / 1000.0,
                                    burst=options.rate_limit_burst,
                                    count_rejected=options.rate_limit_count_rejected)
                        if options.rate_limit_per_minute else None)
        self.faults = FaultConfig(
            fail_first=options.fail_first, fail_kind=options.fail_kind,
            fault_rate=options.fault_rate, fault_kinds=tuple(options.fault_kinds),
            fault_seed=options.fault_seed, fail_segments=tuple(options.fail_segment),
            storm_seconds=options.storm_seconds, storm_kinds=tuple(options.storm_kinds))
        self.distortion = Distortion(inflate=tuple(options.inflate),
                                     scale=options.scale_counts, zero=options.zero_answers)
        self.nesting = build_nesting(options.nesting_depth, options.nesting_shape)
        # The storm's clock: the uptime /__stats reports (POST /__reset leaves both alone).
        self.started = self.stats.started
        self.tls_context: Optional[ssl.SSLContext] = None
        if options.tls_cert:
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(options.tls_cert, options.tls_key)
        self.stopping = threading.Event()
        self._cache: dict[MetricsQuery, Metrics] = {}
        self._cache_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on a machine without
        # DNS; the name is never used here.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # Clients that hang up mid-answer are part of the tests; stay quiet unless asked.
        if self.options.verbose:
            super().handle_error(request, client_address)

    def metrics(self, query: MetricsQuery) -> Metrics:
        with self._cache_lock:
            cached = self._cache.get(query)
        if cached is not None:
            return cached
        result = self.index.metrics(query)
        with self._cache_lock:
            if len(self._cache) > 8192:
                self._cache.clear()
            self._cache[query] = result
        return result


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive; every answer carries Content-Length
    disable_nagle_algorithm = True     # otherwise small answers stall ~40 ms (Nagle + delayed ACK)
    timeout = 120                      # idle keep-alive connections are dropped after this
    server: MockServer

    def version_string(self) -> str:
        return "qonversion-mock/1"

    # -- connection setup: optional TLS, decided per connection -----------------------------
    def setup(self):
        self._tls = False
        self._counted = False
        ctx = self.server.tls_context
        if ctx is not None:
            # TLS and plain HTTP share the port: a TLS ClientHello starts with 0x16. Plain HTTP
            # is kept for the control endpoints (/__stats from the C++ launcher's raw socket).
            # The handshake runs here, in the connection's thread, not in the accept loop.
            self.request.settimeout(self.timeout)
            first = self.request.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                self.request = ctx.wrap_socket(self.request, server_side=True)
                self._tls = True
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self._tls:
                # wrap_socket detached the server's socket object; close the TLS one here.
                try:
                    self.request.close()
                except OSError:
                    pass

    def log_message(self, format, *args):  # noqa: A002 (signature from the base class)
        if self.server.options.verbose:
            line = format % args
            line = _ENDPOINT_RE.sub("/v1/analytics/****/customers-metrics", line)
            sys.stderr.write(f"{self.address_string()} - {line}\n")

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/__stats":
            self._send(200, self.server.stats.to_json(), gzip_ok=False)
            return
        self._handle(path, query)

    def do_POST(self):
        self._discard_body()
        if self.path == "/__reset":
            self.server.stats.reset()
            if self.server.limiter:
                self.server.limiter.reset()
            self._send(200, '{"reset": true}', gzip_ok=False)
            return
        self._handle(self.path.partition("?")[0], "", method_allowed=False)

    def _not_allowed(self):
        self._discard_body()
        self._handle(self.path.partition("?")[0], "", method_allowed=False)

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed

    def _discard_body(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            self.rfile.read(int(length))
        elif self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # not worth decoding chunks for a 405

    # -- the endpoint ---------------------------------------------------------------------
    def _handle(self, path: str, raw_query: str, method_allowed: bool = True):
        arrived = time.monotonic()
        if not self._counted:
            self._counted = True
            self.server.stats.connection()
        m = _ENDPOINT_RE.fullmatch(path)
        key = urllib.parse.unquote(m.group(1)) if m else None
        stats = self.server.stats
        stats.begin(key, arrived)
        reply = Reply(status=500, kind="internal", body="")
        pairs: list[tuple[str, str]] = []
        attempt = None
        ended = False
        try:
            if self.server.options.redirect_all:
                reply = self._redirect()
            elif m is None:
                reply = self._not_found(path)
            elif self.server.tls_context is not None and not self._tls:
                # What nginx answers when plain HTTP reaches its HTTPS port.
                reply = Reply(400, "plain-http", _json({"error": {
                    "code": "plain_http", "message": "The plain HTTP request was sent to HTTPS "
                    "port", "type": "request"}}))
            elif not method_allowed:
                reply = Reply(405, "method-not-allowed", _json({"error": {
                    "code": "method_not_allowed", "message": "Only GET is supported",
                    "type": "request"}}), headers=(("Allow", "GET"),))
            else:
                pairs = parse_query(raw_query)
                identity = key + "?" + urllib.parse.urlencode(sorted(pairs))
                attempt = stats.next_attempt(identity)
                reply = self._decide(key, pairs, identity, attempt, arrived)
            if self.server.options.latency_ms > 0:
                time.sleep(self.server.options.latency_ms / 1000.0)
            # Book-keeping comes before the answer leaves: a client that reads /__stats or the
            # answer log right after its last answer must find that answer there (and no
            # longer in flight).
            stats.record(reply.status, reply.kind, key)
            self.server.answer_log.write({
                "ts": time.time(), "key": key, "status": reply.status, "kind": reply.kind,
                **describe_pairs(pairs), "attempt": attempt, "fault": reply.fault,
                "query": raw_query, "body": _sent_text(reply)})
            if reply.kind != "hang":  # a hang stays in flight while it hangs
                stats.end(key)
                ended = True
            self._deliver(reply)
        finally:
            if not ended:
                stats.end(key)

    def _decide(self, key: str, pairs, identity: str, attempt: int, arrived: float) -> Reply:
        server = self.server
        kind = server.faults.storm(identity, attempt, arrived - server.started)
        if kind is not None:
            reply = self._fault(kind, None)
            reply.fault = "storm"
            return reply
        if key in server.forbidden_keys:
            return Reply(403, "forbidden", _json(_UNAUTHORIZED))
        if key not in server.keys:
            return Reply(401, "unauthorized", _json(_UNAUTHORIZED))
        if server.limiter and not server.limiter.allow(key, arrived):
            return self._too_many("rate-limited")
        try:
            query = validate_query(pairs)
        except ValidationError as e:
            return Reply(400, "validation", e.body())
        kind, source = server.faults.decide(identity, attempt, query)
        if kind is None:
            return Reply(200, "ok", self._render(query))
        reply = self._fault(kind, query)
        reply.fault = source
        return reply

    def _render(self, query: MetricsQuery) -> str:
        server, opts = self.server, self.server.options
        metrics = server.metrics(query)
        if server.distortion:
            metrics = distort_metrics(query, metrics, server.distortion, server.metrics)
        return render_metrics(metrics, numeric_strings=opts.numeric_strings,
                              extra_fields=opts.extra_fields)

    def _too_many(self, kind: str) -> Reply:
        opts = self.server.options
        headers = ()
        if opts.retry_after is not None:
            headers = (("Retry-After", opts.retry_after),)
        elif opts.retry_after_date_in is not None:
            headers = (("Retry-After", http_date(time.time() + opts.retry_after_date_in)),)
        return Reply(429, kind, _json(_RATE_LIMITED), headers=headers)

    def _not_found(self, path: str) -> Reply:
        echo = self.server.options.echo_path_in_404
        if echo == "text":
            # Express's default page: the request target (path and query) as received.
            return Reply(404, "not-found", _EXPRESS_404.format(
                method=self.command, target=html.escape(self.path)),
                content_type="text/html; charset=utf-8")
        if echo == "json":
            return Reply(404, "not-found", _json({
                "status": 404, "error": "Not Found",
                "message": f"No route for {self.command} {self.path}", "path": path}))
        return Reply(404, "not-found", _json({"error": {
            "code": "not_found", "message": "No such route", "type": "request"}}))

    def _redirect(self) -> Reply:
        opts = self.server.options
        status = opts.redirect_all
        location = opts.redirect_location
        if location is None:
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
            scheme = "https" if self._tls else "http"
            location = f"{scheme}://{host}/moved{self.path}"
        title = f"{status} {REDIRECT_STATUSES[status]}"
        return Reply(status, "redirect", _NGINX_PAGE.format(title=title),
                     content_type="text/html", headers=(("Location", location),))

    def _fault(self, kind: str, query: Optional[MetricsQuery]) -> Reply:
        """The reply of a fault kind; query is None only for QUERY_FREE_KINDS."""
        if kind == "500":
            return Reply(500, kind, _json({"success": False, "message": "Internal server error",
                                           "errors": None}))
        if kind == "502":
            return Reply(502, kind, _HTML_502, content_type="text/html")
        if kind == "503":
            return Reply(503, kind, _json({"success": False,
                                           "message": "Service temporarily unavailable",
                                           "errors": None}))
        if kind == "429":
            return self._too_many(kind)
        if kind in ("reset", "hang"):
            return Reply(None, kind)
        if kind == "truncated":
            return Reply(200, kind, self._render(query))
        if kind == "html":
            return Reply(200, kind, _HTML_PROXY, content_type="text/html; charset=utf-8")
        if kind == "no-data":
            return Reply(200, kind, '{"result": {}}')
        if kind == "non-numeric":
            body = self._render(query)
            return Reply(200, kind, re.sub(r'"activeSubscribers": "?\d+"?',
                                           '"activeSubscribers": "lots"', body))
        if kind == "bad-json":
            return Reply(200, kind, '{"data": {')
        if kind == "out-of-range":
            # An integer literal past int64 (and uint64): it parses, but no counter holds it.
            body = self._render(query)
            return Reply(200, kind, re.sub(r'"clientsWithEvent": "?\d+"?',
                                           '"clientsWithEvent": 1000000000000000000000000000000',
                                           body))
        if kind == "empty":
            return Reply(500, kind, "")
        if kind == "deep-nesting":
            return Reply(200, kind, with_nesting(self._render(query), self.server.nesting))
        if kind in TEXT_FAULT_STATUS:
            status = self.server.options.text_fault_status or TEXT_FAULT_STATUS[kind]
            payload, content_type = {
                "latin1-page": (LATIN1_PAGE, "text/html"),   # no charset, as old proxies send
                "cut-utf8": (CUT_UTF8_BODY, "application/json"),
                "control-chars": (CONTROL_CHARS_BODY.encode("utf-8"), "application/json"),
                "control-chars-raw": (CONTROL_CHARS_RAW, "text/plain; charset=utf-8"),
            }[kind]
            return _bytes_reply(status, kind, payload, content_type)
        raise AssertionError(f"unknown fault kind {kind}")

    # -- writing ---------------------------------------------------------------------------
    def _deliver(self, reply: Reply) -> None:
        if reply.kind == "reset":
            self._reset_connection()
        elif reply.kind == "hang":
            self.server.stopping.wait(self.server.options.hang_seconds)
            self.close_connection = True
        elif reply.kind == "truncated":
            # Headers promise more than is sent; then the connection closes.
            data = reply.body.encode("utf-8")
            self._send(200, reply.body, content_type=reply.content_type, gzip_ok=False,
                       declared_length=len(data) + 64, payload=_truncate(data))
            self.close_connection = True
        else:
            self._send(reply.status, reply.body, content_type=reply.content_type,
                       headers=reply.headers, gzip_ok=reply.kind != "empty",
                       payload=reply.payload)

    def _reset_connection(self):
        # SO_LINGER with a zero timeout makes close() send a RST instead of a FIN. The rfile
        # holds a reference to the socket, so it is closed first or close() would be deferred.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def _wants_gzip(self) -> bool:
        for token in self.headers.get("Accept-Encoding", "").split(","):
            coding, _, params = token.strip().partition(";")
            if coding.strip().lower() == "gzip":
                q = params.strip().replace(" ", "")
                return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    def _send(self, status: int, body: str, *, content_type: str = "application/json",
              headers: Iterable[tuple[str, str]] = (), gzip_ok: bool = True,
              declared_length: Optional[int] = None, payload: Optional[bytes] = None):
        data = body.encode("utf-8") if payload is None else payload
        self.send_response(status)
        if content_type == "application/json":
            content_type = "application/json; charset=utf-8"
        self.send_header("Content-Type", content_type)
        if gzip_ok and self._wants_gzip():
            data = gzip.compress(data, mtime=0)  # mtime=0: identical bytes for identical answers
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(declared_length if declared_length is not None
                                               else len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def _fault_kind(text: str) -> str:
    if text not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind {text!r}; one of {', '.join(FAULT_KINDS)}")
    return text


def _fault_kinds(text: str) -> list[str]:
    return [_fault_kind(k.strip()) for k in text.split(",") if k.strip()]


def _storm_kinds(text: str) -> list[str]:
    kinds = _fault_kinds(text)
    for kind in kinds:
        if kind not in QUERY_FREE_KINDS:
            raise argparse.ArgumentTypeError(
                f"a storm cannot use {kind!r} (it needs a valid query); one of "
                f"{', '.join(QUERY_FREE_KINDS)}")
    if not kinds:
        raise argparse.ArgumentTypeError("at least one kind")
    return kinds


def _factor(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _inflate(text: str) -> tuple[str, str, Decimal]:
    """DIM=VALUE[:FACTOR]; a value may hold ':' as long as what follows the last one is not a
    number."""
    dim, value = _segment(text)
    head, sep, tail = value.rpartition(":")
    if sep:
        try:
            Decimal(tail)
        except ArithmeticError:
            return dim, value, Decimal(3)   # not a number: part of the value
        return dim, head, _factor(tail)     # a number: it must be a valid factor
    return dim, value, Decimal(3)


def _segment(text: str) -> tuple[str, str]:
    dim, sep, value = text.partition("=")
    if not sep or (dim not in LIST_FILTERS and dim != "search"):
        raise argparse.ArgumentTypeError(
            f"expected DIM=VALUE with DIM a list filter or search, got {text!r}")
    return dim, value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Mock of Qonversion's customers-metrics endpoint.")
    a = p.add_argument
    a("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    a("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    a("--keys", default=",".join(DEFAULT_KEYS), help="comma-separated valid project API keys")
    a("--forbidden-keys", default="", help="comma-separated keys answered 403")
    a("--customers", type=int, default=20000, help="number of synthetic customers (default 20000)")
    a("--seed", type=int, default=1, help="seed of the customer generator (default 1)")
    a("--numeric-strings", action="store_true", help='counters as JSON strings ("1284")')
    a("--extra-fields", action="store_true", help="add unknown fields to every 200 answer")
    a("--latency-ms", type=float, default=0, help="sleep before each answer (default 0)")
    a("--rate-limit-per-minute", type=float, default=0,
      help="per-key limit, capacity 1 (spacing matters); 0 = none (default)")
    a("--rate-limit-tolerance-ms", type=float, default=50,
      help="arrival jitter forgiven by the rate limiter, capped at half the interval (default 50)")
    a("--rate-limit-burst", type=int, default=1,
      help="bucket capacity: requests allowed back to back after an idle spell (default 1)")
    a("--rate-limit-count-rejected", action="store_true",
      help="refused requests consume capacity too (each pushes the next slot back an interval)")
    a("--retry-after", default=None, help="Retry-After header value on every 429 (verbatim)")
    a("--retry-after-date-in", type=float, default=None, metavar="S",
      help="Retry-After on every 429 as an HTTP-date S seconds after the answer")
    a("--fail-first", type=int, default=0,
      help="the first N attempts of each distinct request fail with --fail-kind")
    a("--fail-kind", type=_fault_kind, default="500",
      help="fault kind for --fail-first (default 500)")
    a("--fault-rate", type=float, default=0.0, help="probability that a request fails (default 0)")
    a("--fault-kinds", type=_fault_kinds, default=["500"],
      help="comma-separated kinds drawn for --fault-rate (default 500)")
    a("--fault-seed", type=int, default=7, help="seed of the --fault-rate draws (default 7)")
    a("--fail-segment", type=_segment, action="append", default=[], metavar="DIM=VALUE",
      help="requests filtering DIM on VALUE answer 500 forever (repeatable)")
    a("--hang-seconds", type=float, default=60, help="how long a 'hang' fault lasts (default 60)")
    a("--storm-seconds", type=float, default=0, metavar="S",
      help="every request fails with a --storm-kinds kind during the first S seconds of the "
           "server's life (inf: always); 0 = none (default)")
    a("--storm-kinds", type=_storm_kinds, default=["500", "502", "503"],
      help="comma-separated kinds drawn during a storm (default 500,502,503)")
    a("--nesting-depth", type=int, default=150000,
      help="depth of the unknown field a 'deep-nesting' answer carries (default 150000)")
    a("--nesting-shape", choices=("array", "object"), default="array",
      help="[[[...]]] (default) or {\"a\": {\"a\": ...}}")
    a("--text-fault-status", type=int, default=None,
      help="status of the latin1-page, cut-utf8, control-chars and control-chars-raw kinds "
           "(default 502, 500, 500, 500)")
    a("--redirect-all", type=int, default=None, choices=sorted(REDIRECT_STATUSES),
      metavar="STATUS", help="answer every request (but /__stats, /__reset) with this 3xx")
    a("--redirect-location", default=None,
      help="Location of --redirect-all (default: this server, /moved + the request target)")
    a("--echo-path-in-404", nargs="?", const="text", choices=("text", "json"), default=None,
      help="404 bodies of unknown routes echo the request target: Express's HTML page (text, "
           "the default) or a JSON error")
    a("--inflate", type=_inflate, action="append", default=[], metavar="DIM=VALUE[:FACTOR]",
      help="requests filtering DIM on VALUE answer FACTOR (default 3) x the counts of the same "
           "request without DIM (repeatable; the first matching rule applies)")
    a("--scale-counts", type=_factor, default=None, metavar="F",
      help="every count of every answer x F, rounded half-up")
    a("--zero-answers", action="store_true", help="every answer has all nine metrics 0")
    a("--tls-cert", default=None,
      help="PEM certificate: serve HTTPS (plain HTTP stays for /__stats)")
    a("--tls-key", default=None, help="PEM private key for --tls-cert")
    a("--answer-log", default=None, help="append one JSON line per request to this file")
    a("--verbose", action="store_true", help="log every request to stderr (keys masked)")
    return p


def parse_options(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line, checked; a bad one exits 2 with argparse's message."""
    parser = build_parser()
    options = parser.parse_args(argv)
    if bool(options.tls_cert) != bool(options.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if not 0 <= options.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    if options.rate_limit_per_minute < 0 or options.customers < 0 or options.fail_first < 0:
        parser.error("--rate-limit-per-minute, --customers and --fail-first must not be negative")
    if options.rate_limit_tolerance_ms < 0:
        parser.error("--rate-limit-tolerance-ms must not be negative (0 = a strict bucket)")
    if options.rate_limit_burst < 1:
        parser.error("--rate-limit-burst must be at least 1")
    if options.retry_after is not None and options.retry_after_date_in is not None:
        parser.error("--retry-after and --retry-after-date-in exclude each other")
    if options.retry_after_date_in is not None:
        try:
            http_date(time.time() + options.retry_after_date_in)
        except (OverflowError, OSError, ValueError):
            parser.error("--retry-after-date-in puts the date out of range; send a fixed date "
                         "with --retry-after")
    if options.storm_seconds < 0:
        parser.error("--storm-seconds must not be negative")
    if options.nesting_depth < 1:
        parser.error("--nesting-depth must be at least 1")
    if options.text_fault_status is not None and not 100 <= options.text_fault_status <= 599:
        parser.error("--text-fault-status must be an HTTP status (100-599)")
    return options


def main(argv: Optional[Sequence[str]] = None) -> int:
    options = parse_options(argv)

    # Until the server runs, a stop request just ends the process (still "clean": exit 0).
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(0))
    index = CustomerIndex(generate_customers(options.customers, options.seed))
    server = MockServer((options.host, options.port), options, index)

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, which runs in this (the main)
        # thread: call it from another thread.
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(f"{HANDSHAKE_PREFIX} port={server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)  # shutdown() waits up to one interval
    finally:
        server.server_close()
        server.answer_log.close()
    return 0


if __name__ == "__main__":
    status = main()
    # Skip the interpreter's teardown (freeing every customer, joining nothing): test fixtures
    # wait for this exit, and handler threads still sleeping in a 'hang' need no goodbye.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
