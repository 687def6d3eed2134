"""Column-wise synthetic data of the holding example lake, built with pyarrow compute kernels.

Every generator takes an :class:`Rng` (seeded ``random.Random`` plus seeded ``pyarrow.compute.random``
columns) and a :class:`Clock` (the generation instant), so the output depends only on
``(rows, seed, now)``. Big tables are produced in batches (:func:`order_batches`) whose arrays are
computed column by column, never row by row; small dimensions (products, campaigns) use plain Python.

The tables carry exactly the columns of the example contracts (plus helper columns prefixed with
``_`` that the writer drops). Everything satisfies the contracts, except the campaign responses,
whose violations are injected on purpose by :func:`build_responses` (see :data:`VIOLATIONS`).

Time columns are ``timestamp('us', tz='UTC')`` (``TIMESTAMP WITH TIME ZONE``); every ``updated_at``
lies within :data:`LOAD_WINDOW_US` before ``now`` and never before the row's own events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from meshplane.demo import lakewords as words

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(12, 2)

LOAD_WINDOW_US = 3 * US_PER_HOUR
"""Every fresh table was (re)written by its load job within this window before ``now``."""
ORDER_HISTORY_DAYS = 700
"""Orders go back this many days (inside every retention SLA of the example contracts)."""
RESPONSES_STALE_US = 3 * US_PER_DAY + 2 * US_PER_HOUR
"""The campaign-responses export last ran this long before ``now`` (its freshness SLA is 1 day)."""
ORDERS_PER_BATCH = 200_000

VIOLATIONS: dict[str, int] = {
    "duplicate_response_ids": 3,
    "null_campaign_ids": 5,
    "invalid_emails": 4,
    "invalid_response_types": 2,
}
"""Deliberate contract violations in ``marketing.campaign_responses.responses`` (row counts)."""
INVALID_RESPONSE_TYPE = "spam_complaint"


class Rng:
    """Deterministic random source: scalars from ``random.Random``, columns from pyarrow."""

    def __init__(self, seed: int) -> None:
        self.py = random.Random(seed)

    def uniform(self, n: int) -> pa.Array:
        """``n`` doubles in [0, 1)."""
        return pc.random(n, initializer=self.py.getrandbits(62))

    def integers(self, n: int, low: int, high: int) -> pa.Array:
        """``n`` int64 values uniformly drawn from [low, high] (both included)."""
        scaled = pc.floor(pc.multiply(self.uniform(n), float(high - low + 1)))
        return pc.add(pc.cast(scaled, pa.int64()), low)

    def index(self, n: int, weights: Sequence[float]) -> pa.Array:
        """``n`` int64 indexes into ``weights``, drawn with those relative weights."""
        u = self.uniform(n)
        total = float(sum(weights))
        result = pa.nulls(n, pa.int64()).fill_null(0)
        cumulative = 0.0
        for weight in weights[:-1]:
            cumulative += weight / total
            result = pc.add(result, pc.cast(pc.greater_equal(u, cumulative), pa.int64()))
        return result

    def choice(self, n: int, values: Sequence[str], weights: Sequence[float] | None = None) -> pa.Array:
        """``n`` strings drawn from ``values`` (uniformly unless ``weights`` are given)."""
        idx = self.index(n, weights) if weights is not None else self.integers(n, 0, len(values) - 1)
        return pc.take(pa.array(values, pa.string()), idx)


@dataclass(frozen=True)
class Clock:
    """The generation instant, in microseconds since the epoch (UTC)."""

    now_us: int

    @classmethod
    def at(cls, now: datetime) -> Clock:
        return cls(int(now.timestamp()) * US_PER_SECOND + now.microsecond)

    @property
    def today(self) -> int:
        """Today's date (UTC) as days since the epoch."""
        return self.now_us // US_PER_DAY


# ---------------------------------------------------------------- column helpers


def flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A contiguous array (compute kernels return chunked arrays for chunked inputs)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def arange(start: int, stop: int) -> pa.Array:
    return pa.array(range(start, stop), type=pa.int64())


def format_ids(prefix: str, numbers: pa.Array, width: int) -> pa.Array:
    """``prefix`` followed by ``numbers`` zero-padded to ``width`` digits."""
    digits = pc.utf8_lpad(pc.cast(numbers, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def timestamps(us: pa.Array) -> pa.Array:
    return pc.cast(us, TIMESTAMP)


def dates(days: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(days, pa.int32()), pa.date32())


def day_of(us: pa.Array) -> pa.Array:
    return pc.divide(us, US_PER_DAY)


def money(cents: pa.Array) -> pa.Array:
    """Integer cents as ``DECIMAL(12,2)`` (exact: doubles round-trip two decimals)."""
    return pc.cast(pc.divide(pc.cast(cents, pa.float64()), 100.0), MONEY)


def lookup(values: Sequence[object], idx: pa.Array, type_: pa.DataType) -> pa.Array:
    return pc.take(pa.array(values, type_), idx)


def every(numbers: pa.Array, modulus: int, remainder: int) -> pa.Array:
    """Boolean mask: ``numbers % modulus == remainder`` (deterministic, size-independent rates)."""
    return pc.equal(pc.modulo(numbers, modulus), remainder)


def fresh(rng: Rng, clock: Clock, event_us: pa.Array | None, n: int, until_us: int | None = None) -> pa.Array:
    """Load timestamps: within the load window before ``until_us`` and never before ``event_us``."""
    until = clock.now_us if until_us is None else until_us
    floor_us = until - LOAD_WINDOW_US
    if event_us is None:
        lower = pa.nulls(n, pa.int64()).fill_null(floor_us)
    else:
        lower = pc.max_element_wise(event_us, floor_us)
    span = pc.subtract(until, lower)
    offset = pc.cast(pc.floor(pc.multiply(rng.uniform(n), pc.cast(span, pa.float64()))), pa.int64())
    return timestamps(pc.add(lower, offset))


def cells_by_country(rng: Rng, country_idx: pa.Array, per_country: Sequence[Sequence[str]]) -> pa.Array:
    """For each row, one of the values listed for its country (uniformly)."""
    flat = [value for values in per_country for value in values]
    offsets, counts, start = [], [], 0
    for values in per_country:
        offsets.append(start)
        counts.append(float(len(values)))
        start += len(values)
    n = len(country_idx)
    within = pc.floor(pc.multiply(rng.uniform(n), lookup(counts, country_idx, pa.float64())))
    idx = pc.add(lookup(offsets, country_idx, pa.int64()), pc.cast(within, pa.int64()))
    return pc.take(pa.array(flat, pa.string()), idx)


def segment_sums(values: pa.Array, ends: pa.Array) -> pa.Array:
    """Sums of consecutive runs of ``values``; ``ends`` are the exclusive run ends (ascending)."""
    zero = pa.array([0], values.type)
    cumulative = pa.concat_arrays([zero, flat(pc.cumulative_sum(values))])
    starts = pa.concat_arrays([pa.array([0], pa.int64()), flat(ends).slice(0, len(ends) - 1)])
    return pc.subtract(pc.take(cumulative, ends), pc.take(cumulative, starts))


# ---------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """Row counts derived from ``rows`` (the size of the largest fact table, order_lines)."""

    order_lines: int
    customers: int
    products: int
    campaigns: int
    responses: int

    @classmethod
    def for_rows(cls, rows: int) -> Sizes:
        return cls(
            order_lines=rows,
            customers=max(50, rows // 10),
            products=min(max(50, rows // 200), 5000),
            campaigns=min(max(12, rows // 2000), 500),
            responses=max(100, rows // 4),
        )


# ---------------------------------------------------------------- dimensions


def build_customers(rng: Rng, clock: Clock, n: int) -> pa.Table:
    """customer.profiles customers (plus ``_country``, ``_iban`` helper columns)."""
    countries = words.COUNTRIES
    numbers = arange(1, n + 1)
    country = rng.index(n, [c.weight for c in countries])
    first = rng.choice(n, words.FIRST_NAMES)
    last = rng.choice(n, words.LAST_NAMES)
    local_last = pc.replace_substring(pc.utf8_lower(last), " ", "")
    email = join(
        pc.utf8_lower(first),
        ".",
        local_last,
        ".",
        pc.cast(numbers, pa.string()),
        "@",
        rng.choice(n, words.EMAIL_DOMAINS),
    )
    subscriber = pc.cast(rng.integers(n, 100_000_000, 999_999_999), pa.string())
    phone = join(lookup([c.phone_prefix for c in countries], country, pa.string()), subscriber)
    phone = pc.if_else(every(numbers, 37, 5), pa.scalar(None, pa.string()), phone)
    age_days = rng.integers(n, 19 * 366, 90 * 365)
    house = pc.cast(rng.integers(n, 1, 180), pa.string())
    street = cells_by_country(rng, country, [c.streets for c in countries])
    number_first = lookup([c.number_first for c in countries], country, pa.bool_())
    address = pc.if_else(number_first, join(house, " ", street), join(street, " ", house))
    created = pc.subtract(clock.now_us, rng.integers(n, 731 * US_PER_DAY, 5 * 365 * US_PER_DAY))
    iban = join(
        lookup([c.code for c in countries], country, pa.string()),
        pc.cast(rng.integers(n, 10, 99), pa.string()),
        pc.cast(rng.integers(n, 10_000_000, 99_999_999), pa.string()),
        pc.cast(rng.integers(n, 1_000_000_000, 9_999_999_999), pa.string()),
    )
    return pa.table(
        {
            "customer_id": format_ids("C", numbers, 8),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "birth_date": dates(pc.subtract(clock.today, age_days)),
            "street_address": address,
            "city": cells_by_country(rng, country, [c.cities for c in countries]),
            "country_code": lookup([c.code for c in countries], country, pa.string()),
            "segment": rng.choice(n, words.SEGMENTS, words.SEGMENT_WEIGHTS),
            "created_at": timestamps(created),
            "updated_at": fresh(rng, clock, created, n),
            "_country": country,
            "_iban": iban,
        }
    )


def build_products(rng: Rng, clock: Clock, n: int) -> pa.Table:
    """retail.catalog products (plus ``_price_cents`` and ``_weight_kg`` helper columns)."""
    r = rng.py
    skus, names, categories, brands, prices, weights, active, launched = [], [], [], [], [], [], [], []
    seen: dict[tuple[str, str], int] = {}
    for i in range(n):
        category = words.CATEGORIES[i % len(words.CATEGORIES)]
        brand = r.choice(category.brands)
        base = f"{r.choice(words.PRODUCT_ADJECTIVES)} {r.choice(category.nouns)}"
        count = seen.get((base, brand), 0)
        seen[(base, brand)] = count + 1
        skus.append(f"SKU-{100_001 + i:06d}")
        names.append(base if count == 0 else f"{base} {count + 1}")
        categories.append(category.name)
        brands.append(brand)
        low, high = category.price_cents
        prices.append(r.randint(low // 100 + 1, high // 100) * 100 - r.choice((1, 1, 5, 51)))  # .99 .95 .49
        weights.append(r.randint(*category.weight_grams) / 1000)
        active.append(r.random() < 0.9)
        launched.append(clock.today - r.randint(30, 8 * 365))
    price_cents = pa.array(prices, pa.int64())
    return pa.table(
        {
            "sku": pa.array(skus, pa.string()),
            "product_name": pa.array(names, pa.string()),
            "category": pa.array(categories, pa.string()),
            "brand": pa.array(brands, pa.string()),
            "list_price": pc.divide(pc.cast(price_cents, pa.float64()), 100.0),
            "weight_kg": pa.array(weights, pa.float64()),
            "is_active": pa.array(active, pa.bool_()),
            "launched_on": dates(pa.array(launched, pa.int64())),
            "updated_at": fresh(rng, clock, None, n),
            "_price_cents": price_cents,
        }
    )


def build_campaigns(rng: Rng, clock: Clock, n: int) -> pa.Table:
    """marketing.campaigns campaigns (plus ``_budget_cents``, ``_start_day``, ``_end_day``)."""
    r = rng.py
    ids, names, channels, targets, starts, ends, budgets, currencies, statuses = ([] for _ in range(9))
    parents: list[str | None] = []
    today = clock.today
    for i in range(n):
        if i == 0:
            start = today - 60  # at least one campaign with responses
        elif i % 10 == 9:
            start = today + r.randint(3, 45)  # planned
        else:
            start = today - r.randint(1, ORDER_HISTORY_DAYS - 100)
        end = start + r.randint(6, 60)
        status = "planned" if start > today else ("running" if end >= today else "completed")
        year = date.fromordinal(date(1970, 1, 1).toordinal() + start).year
        ids.append(f"CMP-{i + 1:04d}")
        parents.append(f"CMP-{r.randint(1, i):04d}" if i > 0 and r.random() < 0.25 else None)  # follow-up wave
        names.append(f"{r.choice(words.CAMPAIGN_THEMES)} {year} #{i + 1}")
        channels.append(r.choice(words.CAMPAIGN_CHANNELS))
        targets.append(r.choice(words.CAMPAIGN_TARGETS))
        starts.append(start)
        ends.append(end)
        budgets.append(r.randint(50, 2500) * 10_000)
        currencies.append(r.choices(("EUR", "GBP", "CHF", "USD"), (0.8, 0.1, 0.04, 0.06))[0])
        statuses.append(status)
    start_days = pa.array(starts, pa.int64())
    budget_cents = pa.array(budgets, pa.int64())
    return pa.table(
        {
            "campaign_id": pa.array(ids, pa.string()),
            "parent_campaign_id": pa.array(parents, pa.string()),
            "campaign_name": pa.array(names, pa.string()),
            "channel": pa.array(channels, pa.string()),
            "target_segment": pa.array(targets, pa.string()),
            "start_date": dates(start_days),
            "end_date": dates(pa.array(ends, pa.int64())),
            "budget": money(budget_cents),
            "currency": pa.array(currencies, pa.string()),
            "status": pa.array(statuses, pa.string()),
            "updated_at": fresh(rng, clock, None, n),
            "_budget_cents": budget_cents,
            "_start_day": start_days,
            "_end_day": pa.array(ends, pa.int64()),
        }
    )


# ---------------------------------------------------------------- orders and what follows from them


@dataclass(frozen=True)
class OrderBatch:
    """One batch of orders with their lines, shipments, ledger entries and partial aggregates."""

    orders: pa.Table
    order_lines: pa.Table
    shipments: pa.Table
    ledger_entries: pa.Table
    revenue_part: pa.Table  # day, country, orders, gross, shipping (non-cancelled orders)
    customer_part: pa.Table  # customer, orders, spend, first_day, last_day (non-cancelled orders)


def _line_counts(rng: Rng, batch: int, remaining: int) -> pa.Array:
    """1-4 lines per order; the last batch is cut so that exactly ``remaining`` lines are made."""
    counts = rng.integers(batch, 1, 4)
    cumulative = pc.cumulative_sum(counts)
    if int(cumulative[-1].as_py()) < remaining:
        return counts
    k = int(pc.index(pc.greater_equal(cumulative, remaining), True).as_py())
    before = int(cumulative[k - 1].as_py()) if k > 0 else 0
    return pa.concat_arrays([counts.slice(0, k), pa.array([remaining - before], pa.int64())])


@dataclass(frozen=True)
class Dimensions:
    """The dimension tables orders refer to (kept in memory while the facts are generated)."""

    customers: pa.Table
    products: pa.Table


def order_batches(
    rng: Rng, clock: Clock, dims: Dimensions, rows: int, *, batch_orders: int = ORDERS_PER_BATCH
) -> Iterator[OrderBatch]:
    """Yield order batches until exactly ``rows`` order lines have been generated."""
    done_lines, next_order = 0, 1
    while done_lines < rows:
        counts = _line_counts(rng, batch_orders, rows - done_lines)
        yield _order_batch(rng, clock, dims, next_order, counts)
        done_lines += int(pc.sum(counts).as_py())
        next_order += len(counts)


@dataclass(frozen=True)
class _Orders:
    """Order-level arrays of one batch, shared by the tables derived from the orders."""

    numbers: pa.Array
    order_id: pa.Array
    customer: pa.Array  # row index into the customers table
    country: pa.Array  # index into lakewords.COUNTRIES
    currency: pa.Array
    placed: pa.Array  # microseconds since the epoch
    shipped: pa.Array
    delivered: pa.Array
    status: pa.Array
    updated: pa.Array  # timestamps

    @property
    def has_shipment(self) -> pa.Array:
        return pc.is_in(self.status, pa.array(["shipped", "delivered", "returned"]))


def _orders(rng: Rng, clock: Clock, dims: Dimensions, first_no: int, n: int) -> _Orders:
    numbers = arange(first_no, first_no + n)
    customer = rng.integers(n, 0, dims.customers.num_rows - 1)
    country = pc.take(dims.customers.column("_country"), customer)
    placed = pc.subtract(clock.now_us - US_PER_MINUTE, rng.integers(n, 0, ORDER_HISTORY_DAYS * US_PER_DAY))
    shipped = pc.add(placed, rng.integers(n, 2 * US_PER_HOUR, 72 * US_PER_HOUR))
    delivered = pc.add(shipped, rng.integers(n, 12 * US_PER_HOUR, 6 * US_PER_DAY))
    status = rng.choice(n, words.ORDER_STATUSES, words.ORDER_STATUS_WEIGHTS)
    # An order cannot be further along than time allows.
    needs_delivery = pc.is_in(status, pa.array(["delivered", "returned"]))
    status = pc.if_else(pc.and_(needs_delivery, pc.greater(delivered, clock.now_us)), "shipped", status)
    needs_shipping = pc.is_in(status, pa.array(["shipped", "delivered", "returned"]))
    status = pc.if_else(pc.and_(needs_shipping, pc.greater(shipped, clock.now_us)), "paid", status)
    return _Orders(
        numbers=numbers,
        order_id=format_ids("ORD-", numbers, 10),
        customer=customer,
        country=country,
        currency=lookup([c.currency for c in words.COUNTRIES], country, pa.string()),
        placed=placed,
        shipped=shipped,
        delivered=delivered,
        status=status,
        updated=fresh(rng, clock, placed, n),
    )


def _lines(rng: Rng, dims: Dimensions, o: _Orders, counts: pa.Array) -> tuple[pa.Table, pa.Array, pa.Array]:
    """Order lines, and per order: total amount (cents) and parcel weight (kg)."""
    products = dims.products
    ends = pc.cumulative_sum(counts)
    n_lines = int(ends[-1].as_py())
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), flat(ends)])
    lists = pa.ListArray.from_arrays(pc.cast(offsets, pa.int32()), pa.nulls(n_lines))
    parent = pc.cast(pc.list_parent_indices(lists), pa.int64())
    line_number = pc.add(pc.subtract(arange(0, n_lines), pc.take(offsets, parent)), 1)
    sku = rng.integers(n_lines, 0, products.num_rows - 1)
    quantity = pc.add(rng.index(n_lines, (0.62, 0.22, 0.09, 0.04, 0.02, 0.01)), 1)
    fx = lookup([words.FX_PER_EUR[c.currency] for c in words.COUNTRIES], pc.take(o.country, parent), pa.float64())
    list_cents = pc.cast(pc.take(products.column("_price_cents"), sku), pa.float64())
    unit = pc.max_element_wise(pc.cast(pc.round(pc.multiply(list_cents, fx)), pa.int64()), 1)
    gross = pc.multiply(quantity, unit)
    percent = lookup((0, 5, 10, 20), rng.index(n_lines, (0.7, 0.15, 0.1, 0.05)), pa.int64())
    discount = pc.divide(pc.multiply(gross, percent), 100)
    amount = pc.subtract(gross, discount)
    line_weight = pc.multiply(pc.cast(quantity, pa.float64()), pc.take(products.column("weight_kg"), sku))
    lines = pa.table(
        {
            "order_id": pc.take(o.order_id, parent),
            "line_number": pc.cast(line_number, pa.int32()),
            "sku": pc.take(products.column("sku"), sku),
            "quantity": pc.cast(quantity, pa.int32()),
            "unit_price": money(unit),
            "discount_amount": money(discount),
            "line_amount": money(amount),
            "updated_at": pc.take(o.updated, parent),
        }
    )
    total = segment_sums(amount, ends)
    weight = pc.round(pc.add(segment_sums(line_weight, ends), 0.2), 3)  # + packaging
    return lines, total, weight


def _shipments(rng: Rng, clock: Clock, dims: Dimensions, o: _Orders, weight: pa.Array) -> tuple[pa.Table, pa.Array]:
    """One shipment per order that left the warehouse, and every order's shipping cost (cents)."""
    countries = words.COUNTRIES
    n = len(o.numbers)
    carrier = cells_by_country(rng, o.country, [c.carriers for c in countries])
    carrier_code = pc.take(
        pa.array(list(words.CARRIER_CODES.values())),
        pc.index_in(carrier, pa.array(list(words.CARRIER_CODES.keys()))),
    )
    cost = pc.add(
        lookup([c.shipping_base_cents for c in countries], o.country, pa.int64()),
        pc.multiply(pc.cast(pc.floor(weight), pa.int64()), 40),
    )
    in_transit = pc.equal(o.status, "shipped")
    country_code = lookup([c.code for c in countries], o.country, pa.string())
    shipments = pa.table(
        {
            "shipment_id": format_ids("SHP-", o.numbers, 10),
            "order_id": o.order_id,
            "carrier": carrier,
            "tracking_number": join(
                carrier_code,
                pc.cast(pc.add(pc.multiply(o.numbers, 211), 100_000_000), pa.string()),
                country_code,
            ),
            "status": pc.if_else(in_transit, "in_transit", o.status),
            "shipped_at": timestamps(o.shipped),
            "delivered_at": pc.if_else(in_transit, pa.scalar(None, TIMESTAMP), timestamps(o.delivered)),
            "destination_country": country_code,
            "destination_city": pc.take(dims.customers.column("city"), o.customer),
            "weight_kg": weight,
            "shipping_cost": money(cost),
            "updated_at": fresh(rng, clock, pc.if_else(in_transit, o.shipped, o.delivered), n),
        }
    )
    return shipments.filter(o.has_shipment), cost


def _ledger(rng: Rng, clock: Clock, dims: Dimensions, o: _Orders, total: pa.Array) -> pa.Table:
    """Receivables (debit) against sales revenue (credit) for every non-cancelled order."""
    n = len(o.numbers)
    posted = pc.min_element_wise(pc.add(o.placed, rng.integers(n, US_PER_MINUTE, 30 * US_PER_MINUTE)), clock.now_us)
    no_iban = pa.scalar(None, pa.string())
    iban = pc.if_else(every(o.numbers, 5, 0), pc.take(dims.customers.column("_iban"), o.customer), no_iban)
    common = {
        "journal_id": format_ids("JNL-", o.numbers, 10),
        "entry_date": dates(day_of(o.placed)),
        "currency": o.currency,
        "source_reference": o.order_id,
        "posted_at": timestamps(posted),
        "updated_at": fresh(rng, clock, posted, n),
    }
    zero, amount = money(pa.nulls(n, pa.int64()).fill_null(0)), money(total)
    debit = pa.table(
        {
            "entry_id": format_ids("LE-", pc.subtract(pc.multiply(o.numbers, 2), 1), 12),
            "account_code": pa.nulls(n, pa.string()).fill_null("1200"),
            "account_name": pa.nulls(n, pa.string()).fill_null("Trade receivables"),
            "debit_amount": amount,
            "credit_amount": zero,
            "counterparty_iban": iban,
            **common,
        }
    )
    credit = pa.table(
        {
            "entry_id": format_ids("LE-", pc.multiply(o.numbers, 2), 12),
            "account_code": pa.nulls(n, pa.string()).fill_null("4000"),
            "account_name": pa.nulls(n, pa.string()).fill_null("Sales revenue"),
            "debit_amount": zero,
            "credit_amount": amount,
            "counterparty_iban": pa.nulls(n, pa.string()),
            **common,
        }
    )
    booked = pc.not_equal(o.status, "cancelled")
    return pa.concat_tables([debit.filter(booked), credit.filter(booked)])


def _order_batch(rng: Rng, clock: Clock, dims: Dimensions, first_no: int, counts: pa.Array) -> OrderBatch:
    o = _orders(rng, clock, dims, first_no, len(counts))
    lines, total, weight = _lines(rng, dims, o, counts)
    shipments, shipping_cost = _shipments(rng, clock, dims, o, weight)
    ledger = _ledger(rng, clock, dims, o, total)
    orders = pa.table(
        {
            "order_id": o.order_id,
            "customer_id": pc.take(dims.customers.column("customer_id"), o.customer),
            "order_date": dates(day_of(o.placed)),
            "placed_at": timestamps(o.placed),
            "status": o.status,
            "channel": rng.choice(len(counts), words.ORDER_CHANNELS, words.ORDER_CHANNEL_WEIGHTS),
            "country_code": lookup([c.code for c in words.COUNTRIES], o.country, pa.string()),
            "currency": o.currency,
            "total_amount": money(total),
            "item_count": pc.cast(counts, pa.int32()),
            "updated_at": o.updated,
        }
    )
    # partial aggregates over the non-cancelled orders
    facts = pa.table(
        {
            "day": day_of(o.placed),
            "country": o.country,
            "customer": o.customer,
            "total": total,
            "shipping": pc.if_else(o.has_shipment, shipping_cost, 0),
        }
    ).filter(pc.not_equal(o.status, "cancelled"))
    revenue_part = aggregate(
        facts,
        ["day", "country"],
        [
            ("total", "count", "orders"),
            ("total", "sum", "gross"),
            ("shipping", "sum", "shipping"),
        ],
    )
    customer_part = aggregate(
        facts,
        ["customer"],
        [
            ("total", "count", "orders"),
            ("total", "sum", "spend"),
            ("day", "min", "first_day"),
            ("day", "max", "last_day"),
        ],
    )
    return OrderBatch(orders, lines, shipments, ledger, revenue_part, customer_part)


class Totals:
    """Merges the partial aggregates of the order batches (memory bounded by their key space)."""

    def __init__(self) -> None:
        self.revenue: pa.Table | None = None
        self.customers: pa.Table | None = None

    def add(self, batch: OrderBatch) -> None:
        self.revenue = _merge(
            self.revenue, batch.revenue_part, ["day", "country"], {"orders": "sum", "gross": "sum", "shipping": "sum"}
        )
        self.customers = _merge(
            self.customers,
            batch.customer_part,
            ["customer"],
            {"orders": "sum", "spend": "sum", "first_day": "min", "last_day": "max"},
        )


def _merge(running: pa.Table | None, part: pa.Table, keys: list[str], how: dict[str, str]) -> pa.Table:
    if running is None:
        return part
    return aggregate(pa.concat_tables([running, part]), keys, [(c, op, c) for c, op in how.items()])


def aggregate(table: pa.Table, keys: list[str], specs: Sequence[tuple[str, str, str]]) -> pa.Table:
    """Group ``table`` by ``keys``; ``specs`` are (column, aggregation, output name) triples."""
    result = table.group_by(keys, use_threads=False).aggregate([(src, op) for src, op, _ in specs])
    columns = {key: result.column(key) for key in keys}
    columns.update({out: result.column(f"{src}_{op}") for src, op, out in specs})
    return pa.table(columns)


def build_daily_revenue(rng: Rng, clock: Clock, totals: Totals) -> pa.Table:
    """finance.revenue daily_revenue from the merged order totals."""
    assert totals.revenue is not None, "no orders generated"
    rev = totals.revenue.sort_by([("day", "ascending"), ("country", "ascending")])
    countries = words.COUNTRIES
    country = rev.column("country")
    return pa.table(
        {
            "revenue_date": dates(rev.column("day")),
            "country_code": lookup([c.code for c in countries], country, pa.string()),
            "currency": lookup([c.currency for c in countries], country, pa.string()),
            "order_count": rev.column("orders"),
            "gross_revenue": money(rev.column("gross")),
            "shipping_cost": money(rev.column("shipping")),
            "net_revenue": money(pc.subtract(rev.column("gross"), rev.column("shipping"))),
            "updated_at": fresh(rng, clock, None, rev.num_rows),
        }
    )


def build_customer_summary(rng: Rng, clock: Clock, customers: pa.Table, totals: Totals) -> pa.Table:
    """customer.customer360 customer_summary: every customer with its purchase figures."""
    assert totals.customers is not None, "no orders generated"
    n = customers.num_rows
    joined = pa.table({"customer": arange(0, n)}).join(totals.customers, "customer", join_type="left outer")
    joined = joined.sort_by("customer")
    orders = pc.fill_null(joined.column("orders"), 0)
    spend = pc.fill_null(joined.column("spend"), 0)
    # value bands in the local currency: low < 500, medium < 1,500, high from 1,500
    band = pc.if_else(
        pc.equal(orders, 0),
        "none",
        pc.if_else(pc.less(spend, 50_000), "low", pc.if_else(pc.less(spend, 150_000), "medium", "high")),
    )
    countries = words.COUNTRIES
    return pa.table(
        {
            "customer_id": customers.column("customer_id"),
            "full_name": join(customers.column("first_name"), " ", customers.column("last_name")),
            "email": customers.column("email"),
            "segment": customers.column("segment"),
            "country_code": customers.column("country_code"),
            "order_count": pc.cast(orders, pa.int64()),
            "total_spend": money(spend),
            "currency": lookup([c.currency for c in countries], customers.column("_country"), pa.string()),
            "first_order_date": dates(joined.column("first_day")),
            "last_order_date": dates(joined.column("last_day")),
            "value_band": band,
            "updated_at": fresh(rng, clock, None, n),
        }
    )


# ---------------------------------------------------------------- marketing


def build_responses(
    rng: Rng, clock: Clock, customers: pa.Table, campaigns: pa.Table, n: int
) -> tuple[pa.Table, pa.Array]:
    """marketing.campaign_responses responses, WITH the deliberate violations of :data:`VIOLATIONS`.

    Returns the table and a boolean mask of the rows a clean pipeline would keep (campaign_id
    present, known response type, first occurrence of its response_id).
    """
    export_us = clock.now_us - RESPONSES_STALE_US
    start_us = pc.multiply(campaigns.column("_start_day"), US_PER_DAY)
    eligible = pc.indices_nonzero(pc.less(start_us, export_us - US_PER_DAY))
    pick = pc.take(eligible, rng.integers(n, 0, len(eligible) - 1))
    begin = pc.take(start_us, pick)
    stop = pc.min_element_wise(
        pc.multiply(pc.add(pc.take(campaigns.column("_end_day"), pick), 1), US_PER_DAY),
        export_us - US_PER_HOUR,
    )
    span = pc.cast(pc.subtract(stop, begin), pa.float64())
    responded = pc.add(begin, pc.cast(pc.floor(pc.multiply(rng.uniform(n), span)), pa.int64()))
    cust = rng.integers(n, 0, customers.num_rows - 1)
    numbers = arange(1, n + 1)
    device = rng.choice(n, words.DEVICES, words.DEVICE_WEIGHTS)
    table = {
        "response_id": format_ids("RSP-", numbers, 8),
        "campaign_id": pc.take(campaigns.column("campaign_id"), pick),
        "customer_id": pc.take(customers.column("customer_id"), cust),
        "email": pc.take(customers.column("email"), cust),
        "response_type": rng.choice(n, words.RESPONSE_TYPES, words.RESPONSE_TYPE_WEIGHTS),
        "device": pc.if_else(every(numbers, 31, 7), pa.scalar(None, pa.string()), device),
        "responded_at": timestamps(responded),
        "updated_at": fresh(rng, clock, responded, n, until_us=export_us),
        "_campaign": pick,
        "_segment": pc.take(customers.column("segment"), cust),
    }
    # ---- the violations (disjoint rows, chosen at random)
    v = VIOLATIONS
    rows = rng.py.sample(range(n), sum(v.values()) + v["duplicate_response_ids"])
    dup_rows, dup_sources, rows = _split(rows, v["duplicate_response_ids"], v["duplicate_response_ids"])
    null_rows, email_rows, type_rows = _split(rows, v["null_campaign_ids"], v["invalid_emails"])
    ids = table["response_id"]
    table["response_id"] = _replace(ids, dup_rows, [ids[i].as_py() for i in dup_sources])
    table["campaign_id"] = _replace(table["campaign_id"], null_rows, [None] * len(null_rows))
    broken = ("{}.at.{}", "{}@", "{}@@{}", "{} @{}")
    emails = table["email"]
    bad = []
    for i, row in enumerate(email_rows):
        local, _, domain = str(emails[row].as_py()).partition("@")
        bad.append(broken[i % len(broken)].format(local, domain))
    table["email"] = _replace(emails, email_rows, bad)
    table["response_type"] = _replace(table["response_type"], type_rows, [INVALID_RESPONSE_TYPE] * len(type_rows))
    valid = pc.invert(pc.is_in(numbers, pa.array([r + 1 for r in (*dup_rows, *null_rows, *type_rows)])))
    return pa.table(table), valid


def _split(rows: list[int], first: int, second: int) -> tuple[list[int], list[int], list[int]]:
    return sorted(rows[:first]), rows[first : first + second], sorted(rows[first + second :])


def _replace(values: pa.Array, rows: list[int], replacements: Sequence[object]) -> pa.Array:
    """``values`` with ``rows`` replaced by ``replacements`` (given in the order of ``rows``)."""
    if not rows:
        return values
    order = sorted(range(len(rows)), key=lambda i: rows[i])
    mask = pc.is_in(arange(0, len(values)), pa.array(rows, pa.int64()))
    return pc.replace_with_mask(flat(values), mask, pa.array([replacements[i] for i in order], values.type))


def build_campaign_kpis(rng: Rng, clock: Clock, campaigns: pa.Table, responses: pa.Table, valid: pa.Array) -> pa.Table:
    """marketing.campaign_performance campaign_kpis from the valid responses."""
    r = rng.py
    kept = responses.filter(valid)
    grouped = aggregate(
        pa.table(
            {
                "campaign": kept.column("_campaign"),
                "segment": kept.column("_segment"),
                "converted": pc.cast(pc.equal(kept.column("response_type"), "converted"), pa.int64()),
            }
        ),
        ["campaign", "segment"],
        [("converted", "count", "responses"), ("converted", "sum", "conversions")],
    )
    counts = {
        (c, s): (int(n), int(k)) for c, s, n, k in zip(*(grouped.column(i).to_pylist() for i in range(4)), strict=True)
    }
    ids, segments, recipients, answers, conversions, rates, spends, currencies = ([] for _ in range(8))
    budget = campaigns.column("_budget_cents").to_pylist()
    for c in sorted({c for c, _ in counts}):
        reach = []
        for segment in words.SEGMENTS:
            n, k = counts.get((c, segment), (0, 0))
            reach.append(n * r.randint(3, 12) + r.randint(20, 400))
            answers.append(n)
            conversions.append(k)
            ids.append(campaigns.column("campaign_id")[c].as_py())
            segments.append(segment)
            currencies.append(campaigns.column("currency")[c].as_py())
        recipients.extend(reach)
        for i, people in enumerate(reach):
            rates.append(conversions[-3 + i] / people)
            spends.append(budget[c] * people // sum(reach))
    return pa.table(
        {
            "campaign_id": pa.array(ids, pa.string()),
            "segment": pa.array(segments, pa.string()),
            "recipients": pa.array(recipients, pa.int64()),
            "responses": pa.array(answers, pa.int64()),
            "conversions": pa.array(conversions, pa.int64()),
            "conversion_rate": pa.array(rates, pa.float64()),
            "spend": money(pa.array(spends, pa.int64())),
            "currency": pa.array(currencies, pa.string()),
            "updated_at": fresh(rng, clock, None, len(ids)),
        }
    )
