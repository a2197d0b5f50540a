"""Personalised email through the sender to a local SMTP sink, against a plain aiosmtplib client.

    python bench/bench_send.py                               # 100,000 emails, 3 repeats, both databases
    python bench/bench_send.py --rows 2000 --repeat 1        # what CI runs
    python bench/bench_send.py --rows 100000 --repeat 1 --memory-rows 1000000 --database postgresql
    python bench/bench_send.py --rows 20000 --repeat 1 --memory-rows 0 --profile   # where the time goes

For each database (a temporary SQLite file, a fresh PostgreSQL database) and repeat, untimed:
--rows contacts (email, Korean or English first name, locale, timezone, a plan, a points balance
and a city), each with a granted email consent for the topic "newsletter", one advertising email
template for that topic (HTML with a <style> block the save inlines, three links, the contact's
name, plan, city and points through the `krw` filter, in Korean and English), and one queued
outbox row per contact as a broadcast writes them (executemany on SQLite, COPY on PostgreSQL).
Advertising is the heavier path and the usual one for a newsletter: consent is looked up, the
law's additions ((광고), sender, unsubscribe link) are made, links are tracked and the
List-Unsubscribe headers are written.

The sink is an SMTP server in a process of its own, accepting and discarding messages and
counting them: Postfix's `smtp-sink` when it is installed (Debian package `postfix`), else an
aiosmtpd server (a project dependency). Then, timed, each in a fresh process:

1. Funnelwise: `Sender.deliver_all_due()` with the providers from the settings, as the worker
   has them: the SMTP provider for email (`smtp_pool_size` kept-open connections,
   `send_concurrency` sends in flight, batches of `send_batch_size`), from claim to the recorded
   status and `Email Sent` events. Every row must end `sent` and the sink must have
   counted every message.
2. The baseline: plain aiosmtplib sends of the same messages, rendered before timing by the
   sender's own code (`preparing.prepare` and the SMTP provider's `MessageWriter`) and read from
   a file, over as many kept-open connections with as many in flight.

Prints messages/s of both and their ratio (goal at least 0.70), and each sending process's peak
RSS (VmHWM), beside what such a process holds with its imports alone. --memory-rows (default 10
times --rows; 0 skips it) runs the sender once more per database over that many recipients, to
show its peak memory does not grow with the audience (goal: under 150 MB at 1,000,000). Medians
over --repeat close each database's figures.
"""

import argparse
import asyncio
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import re
import resource
import shutil
import statistics
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from benchdb import bulk_load, drop_database, fresh_database, timed
from sqlalchemy import Engine, func, select

from funnelwise.clock import SystemClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade
from funnelwise.messaging.channels.mime import MessageWriter
from funnelwise.messaging.channels.registry import providers_from_settings
from funnelwise.messaging.claimed import ClaimedMessage
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.messaging.preparing import prepare
from funnelwise.messaging.sender import Sender
from funnelwise.messaging.templates.store import apply_template

SECRET = "bench-secret-key-for-sending-only"
GOAL_RATIO = 0.70
# Spawned workers import for a second or two; all start sending at the same wall-clock time.
WORKER_START_SECONDS = 8.0
GOAL_MEMORY_MB = 150
MEMORY_GOAL_ROWS = 1_000_000
TEMPLATE_NAME = "december-newsletter"
TOPIC = "newsletter"
MAIL_FROM = "Funnelwise 뉴스레터 <news@bench.example.com>"
SMTP_SINK = "/usr/sbin/smtp-sink"
FIRST_NAMES_KO = ("민준", "서연", "지호", "하은", "도윤", "지우", "서준", "수아", "예준", "하린")
FIRST_NAMES_EN = ("Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Mia", "Lucas")
CITIES = ("서울", "부산", "인천", "대구", "대전", "광주", "수원", "성남")
DOMAINS = ("example.com", "example.co.kr", "mail.example.net", "corp.example.org")

_STYLE = """<style>
  body { margin: 0; background: #f4f5f7; font-family: 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif; }
  .card { max-width: 560px; margin: 24px auto; background: #ffffff; border-radius: 8px; padding: 32px; }
  h1 { font-size: 22px; color: #1a1a1a; margin: 0 0 16px; }
  p { font-size: 15px; line-height: 1.6; color: #333333; }
  .points { font-weight: bold; color: #3056d3; }
  .button { display: inline-block; background: #3056d3; color: #ffffff; padding: 12px 20px;
            border-radius: 4px; text-decoration: none; }
  .muted { font-size: 12px; color: #888888; }
</style>"""
TEMPLATE: dict[str, Any] = {
    "name": TEMPLATE_NAME,
    "channel": "email",
    "purpose": "advertising",
    "topic": TOPIC,
    "default_locale": "ko",
    "locales": {
        "ko": {
            "subject": '{{ contact.first_name | fallback("고객") }}님, 12월 혜택을 확인하세요',
            "html": f"""<html><head>{_STYLE}</head><body><div class="card">
<h1>{{{{ contact.first_name | fallback("고객") }}}}님, 안녕하세요</h1>
<p>{{{{ contact.plan }}}} 플랜을 이용해 주셔서 감사합니다. 지금 적립금은
<span class="points">{{{{ contact.points | krw }}}}</span>입니다. 12월 31일까지 결제에 쓰실 수 있습니다.</p>
<p>이번 달에는 세그먼트로 고객을 나누어 보내는 자동화와, 고객마다 가장 잘 읽는 시간에 보내는
발송 시간 최적화가 새로 나왔습니다.</p>
<p><a class="button" href="https://www.example.com/december?plan={{{{ contact.plan }}}}">12월 혜택 보기</a></p>
<p><a href="https://www.example.com/blog/segments">세그먼트 안내</a> ·
<a href="https://www.example.com/account/points">적립금 확인</a></p>
<p class="muted">{{{{ contact.city }}}}의 {{{{ contact.first_name }}}}님께 보내 드리는 뉴스레터입니다.</p>
</div></body></html>""",
        },
        "en": {
            "subject": '{{ contact.first_name | fallback("there") }}, your December offers',
            "html": f"""<html><head>{_STYLE}</head><body><div class="card">
<h1>Hello {{{{ contact.first_name | fallback("there") }}}},</h1>
<p>Thank you for using the {{{{ contact.plan }}}} plan. Your points balance is
<span class="points">{{{{ contact.points | krw }}}}</span>, to spend by December 31.</p>
<p>New this month: automations that send by segment, and send-time optimisation that reaches each
customer at the hour they read.</p>
<p><a class="button" href="https://www.example.com/december?plan={{{{ contact.plan }}}}">See the offers</a></p>
<p><a href="https://www.example.com/blog/segments">About segments</a> ·
<a href="https://www.example.com/account/points">Your points</a></p>
<p class="muted">The newsletter for {{{{ contact.first_name }}}} in {{{{ contact.city }}}}.</p>
</div></body></html>""",
        },
    },
}


@dataclass(frozen=True)
class Sending:
    """One timed send, as the sending process saw it."""

    messages: int
    seconds: float
    peak_rss_mb: float
    started: float = 0.0
    ended: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass(frozen=True)
class Run:
    funnelwise: float
    baseline: float
    funnelwise_mb: float
    baseline_mb: float
    message_kb: float


def settings_for(url: str, port: int) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SECRET,
        _env_file=None,
        public_url="https://crm.example.com",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        mail_from=MAIL_FROM,
        sender_name="펀넬와이즈",
        sender_contact="02-1234-5678, 서울특별시 중구 세종대로 110",
    )


# --- setup (untimed) -------------------------------------------------------------------------


def load(engine: Engine, ctx: Context, rows: int) -> None:
    """Contacts, their consents, the template and one queued outbox row each."""
    now = ctx.clock.now()
    due = now - timedelta(minutes=1)
    with make_sessionmaker(engine).begin() as session:
        apply_template(session, ctx, TEMPLATE)
    bulk_load(
        engine,
        [
            (
                "contacts",
                "id, email, first_name, locale, timezone, properties, created_at, updated_at",
                (_contact(i, now) for i in range(1, rows + 1)),
            ),
            (
                "consents",
                "id, contact_id, channel, topic, status, wording, version, source, recorded_at, confirmed_at",
                (
                    (i, i, "email", TOPIC, "granted", "뉴스레터 수신에 동의합니다", "v1", "signup", now, now)
                    for i in range(1, rows + 1)
                ),
            ),
            (
                "outbox_messages",
                "id, idempotency_key, contact_id, channel, template, status, source, variables, attempts, "
                "due_at, created_at, updated_at",
                (
                    (i, f"bc-1-{i}", i, "email", TEMPLATE_NAME, "queued", "broadcast", "{}", 0, due, now, now)
                    for i in range(1, rows + 1)
                ),
            ),
        ],
    )


def _contact(i: int, now: datetime) -> tuple[Any, ...]:
    english = i % 5 == 0
    names = FIRST_NAMES_EN if english else FIRST_NAMES_KO
    properties = {
        "plan": ("basic", "pro", "team")[i % 3],
        "points": (i * 7919) % 500_000,
        "city": CITIES[i % len(CITIES)],
    }
    return (
        i,
        f"person{i}@{DOMAINS[i % len(DOMAINS)]}",
        names[i % len(names)],
        "en" if english else "ko",
        "Asia/Seoul",
        json.dumps(properties, ensure_ascii=False),
        now,
        now,
    )


def prerender(url: str, port: int, path: Path, batch: int) -> tuple[int, float]:
    """Every queued row rendered by the sender's own code into a file of (recipient, bytes);
    (messages, mean message size in kB). Reads only: the rows stay queued."""
    settings = settings_for(url, port)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    ctx = Context(settings, SystemClock())
    writer = MessageWriter(settings.mail_from)
    providers = providers_from_settings(ctx)
    table = OutboxMessage.__table__
    count, size, last = 0, 0, 0
    try:
        with path.open("wb") as out, sessions() as session:
            while True:
                rows = session.execute(
                    select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
                ).all()
                if not rows:
                    break
                last = rows[-1].id
                prepared = prepare(session, ctx, [ClaimedMessage.of(row) for row in rows], providers)
                if prepared.failures or len(prepared.deliveries) != len(rows):
                    raise SystemExit(f"pre-rendering failed: {list(prepared.failures.values())[:3]}")
                for delivery in prepared.deliveries.values():
                    envelope = writer.write(delivery.message_id, delivery.rendered, ctx.clock.now())
                    recipient = envelope.recipient.encode()
                    out.write(struct.pack(">II", len(recipient), len(envelope.data)))
                    out.write(recipient)
                    out.write(envelope.data)
                    count += 1
                    size += len(envelope.data)
                session.rollback()
    finally:
        engine.dispose()
    return count, size / max(count, 1) / 1024


# --- the sink, in a process of its own -------------------------------------------------------


class Sink:
    """An SMTP server that throws messages away, counting them: Postfix's smtp-sink or aiosmtpd."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = _free_port()
        self._count = 0
        if kind == "smtp-sink":
            # As root, smtp-sink insists on dropping to another user once it listens.
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            self._process: Any = subprocess.Popen(
                [SMTP_SINK, "-c", *user, "-4", f"127.0.0.1:{self.port}", "1024"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._reader = threading.Thread(target=self._read_counter, daemon=True)
            self._reader.start()
        else:
            spawn = multiprocessing.get_context("spawn")
            self._counter = spawn.RawValue("q", 0)
            ready = spawn.Event()
            self._process = spawn.Process(
                target=_aiosmtpd_sink, args=(self.port, self._counter, ready), daemon=True
            )
            self._process.start()
            if not ready.wait(30):
                raise SystemExit("the aiosmtpd sink did not start")
        _wait_for_port(self.port)

    def _read_counter(self) -> None:
        # smtp-sink -c rewrites "sess=… quit=… mesg=N\r" on its stdout as messages arrive.
        tail = b""
        while chunk := os.read(self._process.stdout.fileno(), 65536):
            tail = (tail + chunk)[-200:]
            found = re.findall(rb"mesg=(\d+)", tail)
            if found:
                self._count = int(found[-1])

    def count(self) -> int:
        return self._count if self.kind == "smtp-sink" else self._counter.value

    def wait_for(self, expected: int, timeout: float = 30) -> int:
        """The count once it reaches `expected` (or after `timeout`, whatever it is then)."""
        deadline = time.monotonic() + timeout
        while self.count() < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.count()

    def close(self) -> None:
        self._process.terminate()
        if self.kind == "smtp-sink":
            self._process.wait(10)
        else:
            self._process.join(10)


def _aiosmtpd_sink(port: int, counter: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
            counter.value += 1
            return "250 2.0.0 Ok: queued"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    threading.Event().wait()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the SMTP sink does not listen on port {port}") from None
            time.sleep(0.05)


# --- the timed sends, each in a fresh process ------------------------------------------------


def send_with_funnelwise(
    url: str, port: int, profile: bool, share: int = 1, start_at: float | None = None
) -> Sending:
    """`Sender.deliver_all_due()` over every queued row with the SMTP provider; runs in a child.

    With `share` > 1 this is one of that many workers, each with its share of the connections and
    of the sends in flight, all starting at the wall-clock time `start_at`.
    """
    settings = settings_for(url, port)
    settings = settings.model_copy(
        update={
            "smtp_pool_size": max(1, settings.smtp_pool_size // share),
            "send_concurrency": max(1, settings.send_concurrency // share),
        }
    )
    engine = make_engine(settings)
    ctx = Context(settings, SystemClock())
    # The providers the worker would have: SMTP for email, as FUNNELWISE_SMTP_HOST is set.
    sender = Sender(make_sessionmaker(engine), ctx)
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    try:
        if profile:
            profiler = cProfile.Profile()
            seconds, total = timed(lambda: profiler.runcall(sender.deliver_all_due))
            _print_profile(profiler)
        else:
            seconds, total = timed(sender.deliver_all_due)
    finally:
        sender.close()
        engine.dispose()
    if total.errors or total.failed or total.sent != total.claimed:
        raise SystemExit(
            f"the sender claimed {total.claimed:,}, sent {total.sent:,}, deferred {total.deferred:,}, "
            f"suppressed {total.suppressed:,}, failed {total.failed:,}: {total.errors[:3]}"
        )
    return Sending(total.sent, seconds, _peak_rss_mb(), started, started + seconds)


def send_with_workers(url: str, port: int, workers: int) -> Sending:
    """`workers` sender processes at once, sharing the connections and sends in flight."""
    start_at = time.time() + WORKER_START_SECONDS
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        runs = [
            pool.submit(send_with_funnelwise, url, port, False, workers, start_at) for _ in range(workers)
        ]
        done = [run.result() for run in runs]
    began, ended = min(d.started for d in done), max(d.ended for d in done)
    return Sending(
        sum(d.messages for d in done), ended - began, max(d.peak_rss_mb for d in done), began, ended
    )


def send_by_hand(path: str, port: int, connections: int, in_flight: int) -> Sending:
    """The same messages, pre-rendered, by plain aiosmtplib over kept-open connections; runs in a child."""
    sender = MAIL_FROM.rpartition("<")[2].rstrip(">")

    async def run() -> int:
        pool: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(connections):
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
            await client.connect()
            pool.put_nowait(client)
        sent = 0
        with open(path, "rb") as source:
            messages = _read_messages(source)

            async def worker() -> None:
                nonlocal sent
                for recipient, data in messages:
                    client = await pool.get()
                    try:
                        await client.sendmail(sender, [recipient], data)
                    finally:
                        pool.put_nowait(client)
                    sent += 1

            await asyncio.gather(*(worker() for _ in range(in_flight)))
        while not pool.empty():
            await pool.get_nowait().quit()
        return sent

    start = time.perf_counter()
    sent = asyncio.run(run())
    return Sending(sent, time.perf_counter() - start, _peak_rss_mb())


def _read_messages(source: Any) -> Iterator[tuple[str, bytes]]:
    while head := source.read(8):
        recipient_length, data_length = struct.unpack(">II", head)
        yield source.read(recipient_length).decode(), source.read(data_length)


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Not `getrusage`'s ru_maxrss: Linux carries that over
    an exec, so a spawned child would report its parent's size at the fork."""
    status = Path("/proc/self/status")
    if status.exists():
        found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def in_fresh_process(function: Any, *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _print_profile(profiler: cProfile.Profile) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(35)
        print(out.getvalue(), flush=True)


# --- one measurement -------------------------------------------------------------------------


def check(engine: Engine, rows: int) -> None:
    with engine.connect() as connection:
        statuses = dict(
            connection.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    if statuses != {OutboxStatus.SENT: rows}:
        raise SystemExit(f"expected {rows:,} rows sent, found {statuses}")


def prepared_database(kind: str, rows: int, port: int, workdir: Path) -> tuple[str, Engine]:
    url = fresh_database(kind, workdir)
    settings = settings_for(url, port)
    engine = make_engine(settings)
    upgrade(engine)
    seconds, _ = timed(lambda: load(engine, Context(settings, SystemClock()), rows))
    print(f"{kind:<10} loaded {rows:,} contacts, consents and queued messages in {seconds:.1f} s", flush=True)
    return url, engine


def measure(kind: str, rows: int, sink: Sink, workdir: Path, profile: bool, workers: int = 1) -> Run:
    url, engine = prepared_database(kind, rows, sink.port, workdir)
    rendered = workdir / "prerendered.bin"
    try:
        settings = settings_for(url, sink.port)
        seconds, (count, kb) = timed(lambda: prerender(url, sink.port, rendered, settings.send_batch_size))
        print(f"{kind:<10} pre-rendered {count:,} messages ({kb:.1f} kB each) in {seconds:.1f} s", flush=True)
        before = sink.count()
        if workers > 1:
            funnelwise = send_with_workers(url, sink.port, workers)
        else:
            funnelwise = in_fresh_process(send_with_funnelwise, url, sink.port, profile)
        check(engine, rows)
        _check_sink(sink, before + rows, "Funnelwise")
        before = sink.count()
        connections, in_flight = settings.smtp_pool_size, settings.send_concurrency
        baseline = in_fresh_process(send_by_hand, str(rendered), sink.port, connections, in_flight)
        _check_sink(sink, before + rows, "the baseline")
        return Run(funnelwise.rate, baseline.rate, funnelwise.peak_rss_mb, baseline.peak_rss_mb, kb)
    finally:
        rendered.unlink(missing_ok=True)
        engine.dispose()
        drop_database(url)


def measure_memory(kind: str, rows: int, sink: Sink, workdir: Path) -> Sending:
    url, engine = prepared_database(kind, rows, sink.port, workdir)
    try:
        before = sink.count()
        sending = in_fresh_process(send_with_funnelwise, url, sink.port, False)
        check(engine, rows)
        _check_sink(sink, before + rows, "Funnelwise")
        return sending
    finally:
        engine.dispose()
        drop_database(url)


def _check_sink(sink: Sink, expected: int, who: str) -> None:
    counted = sink.wait_for(expected)
    if counted != expected:
        raise SystemExit(f"{who}: the sink counted {counted:,} messages in all, expected {expected:,}")


def report(kind: str, label: str, run: Run) -> None:
    ratio = run.funnelwise / run.baseline
    print(
        f"{kind:<10} {label}: Funnelwise {run.funnelwise:,.0f} messages/s, plain aiosmtplib "
        f"{run.baseline:,.0f} messages/s, ratio {ratio:.2f} (goal at least {GOAL_RATIO:.2f}); "
        f"peak RSS sender {run.funnelwise_mb:.0f} MB, plain client {run.baseline_mb:.0f} MB; "
        f"{run.message_kb:.1f} kB a message",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="recipients, one email each")
    parser.add_argument("--repeat", type=int, default=3, help="0: only the memory run")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--memory-rows",
        type=int,
        default=None,
        help="recipients of the memory run [default: 10 x rows; 0: none]",
    )
    parser.add_argument("--sink", choices=("auto", "smtp-sink", "aiosmtpd"), default="auto")
    parser.add_argument("--profile", action="store_true", help="profile the sender's runs (cProfile)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="on PostgreSQL also time this many sender processes sharing the same connections and "
        "sends in flight (SQLite has one writer, so one worker)",
    )
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    memory_rows = 10 * args.rows if args.memory_rows is None else args.memory_rows
    sink_kind = args.sink
    if sink_kind == "auto":
        sink_kind = "smtp-sink" if shutil.which(SMTP_SINK) else "aiosmtpd"
    sink = Sink(sink_kind)
    print(f"sink: {sink_kind} on port {sink.port}, in its own process", flush=True)
    if sink_kind == "aiosmtpd":
        print(
            "note: aiosmtpd takes under a thousand messages a second, so both rates measure the sink; "
            "for figures install Postfix's smtp-sink (apt-get install postfix)",
            flush=True,
        )
    print(
        f"a sending process holds {in_fresh_process(_peak_rss_mb):.0f} MB with its imports alone, before it sends",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
            for kind in kinds:
                runs: list[Run] = []
                for number in range(1, args.repeat + 1):
                    runs.append(measure(kind, args.rows, sink, Path(tmp), args.profile))
                    report(kind, f"run {number}", runs[-1])
                median = None
                if runs:
                    fields = Run.__dataclass_fields__
                    median = Run(*(statistics.median(getattr(r, f) for r in runs) for f in fields))
                    report(kind, f"median of {args.repeat}", median)
                if kind == "postgresql" and args.workers > 1:
                    shared = [
                        measure(kind, args.rows, sink, Path(tmp), False, args.workers)
                        for _ in range(args.repeat)
                    ]
                    for number, run in enumerate(shared, 1):
                        report(kind, f"{args.workers} workers, run {number}", run)
                    fields = Run.__dataclass_fields__
                    middle = Run(*(statistics.median(getattr(r, f) for r in shared) for f in fields))
                    report(kind, f"{args.workers} workers, median of {args.repeat}", middle)
                if memory_rows:
                    big = measure_memory(kind, memory_rows, sink, Path(tmp))
                    small = f"{median.funnelwise_mb:.0f} MB at {args.rows:,} recipients, " if median else ""
                    print(
                        f"{kind:<10} memory: sender peak RSS {small}{big.peak_rss_mb:.0f} MB at "
                        f"{memory_rows:,} (goal under {GOAL_MEMORY_MB} MB at {MEMORY_GOAL_ROWS:,}); the "
                        f"{memory_rows:,} took {big.seconds:,.0f} s ({big.rate:,.0f} messages/s)",
                        flush=True,
                    )
    finally:
        sink.close()


if __name__ == "__main__":
    main()
