"""The delivery worker: sends due deliveries, signed, and retries failures with backoff.

A thread waits on the store's ``enqueued`` event, so a new alert goes out at once rather than on
the next poll; retries are timed from ``next_attempt_at`` in the database, which is also how a
restarted server resumes what an earlier one left due. Attempts run on a small thread pool, so
one slow receiver (up to the timeout) does not hold up the others. A non-2xx answer, a timeout
or a connection error is retried after a full-jitter exponential backoff, until the attempt
budget is spent and the delivery is ``dead``. Redirects are not followed (a 3xx is a failure).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from api.webhooks.models import Claimed, DeliveryStatus
from api.webhooks.signing import HEADER, sign
from api.webhooks.store import Outcome, WebhookStore
from api.webhooks.urls import check_url
from ingest.errors import BlackboxError
from ingest.settings import Settings

logger = logging.getLogger("blackbox.webhooks")

SENDERS = 8  # attempts in flight at once
IDLE_POLL_SECONDS = 2.0  # look at the table this often even when nothing rang (another process)
USER_AGENT = "Blackbox-Webhooks/0.1"
_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base: float  # the cap of the first retry's delay, in seconds
    maximum: float  # the largest cap

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.webhook_max_attempts, settings.webhook_backoff_base,
                   settings.webhook_backoff_max)

    def cap(self, attempts: int) -> float:
        """The longest wait after ``attempts`` failed attempts: doubles each time, up to the maximum."""
        return min(self.maximum, self.base * 2.0 ** min(max(attempts - 1, 0), 62))

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, cap], so receivers recovering from an outage are not hit in
        lockstep by every sender that failed at the same moment."""
        return rng.uniform(0.0, self.cap(attempts))


def headers_for(claimed: Claimed, *, now: float | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            HEADER: sign(claimed.secret, claimed.body, now=now),
            "Idempotency-Key": claimed.id, "Blackbox-Delivery-Id": claimed.id,
            "Blackbox-Alert-Id": claimed.alert_id}


class DeliveryWorker:
    """The server's sender thread (and its pool); ``hand_over`` takes fresh deliveries directly."""

    def __init__(self, store: WebhookStore, settings: Settings, *,
                 housekeeping: Callable[[], None] | None = None, rng: random.Random | None = None) -> None:
        self._store = store
        self._policy = RetryPolicy.of(settings)
        self._allow_private = settings.webhook_allow_private
        # Connect, write, read and pool each get the timeout; the lease covers them all and more.
        self._lease = 4 * settings.webhook_timeout + 30
        self._client = httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)
        self._housekeeping = housekeeping
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="blackbox-webhook")
        self._thread = threading.Thread(target=self._run, name="blackbox-deliveries", daemon=True)

    def start(self) -> None:
        self._store.attach_sender(self.hand_over, self._lease)
        self._thread.start()

    def stop(self) -> None:
        """Finish the attempts in flight and handed over (their outcome is recorded), then stop."""
        self._store.detach_sender()
        self._stop.set()
        self._store.enqueued.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._store.enqueued.clear()  # before looking: a delivery stored meanwhile rings again
            try:
                wait = self._tick()
            except Exception:
                logger.exception("delivery loop failed; retrying")
                wait = IDLE_POLL_SECONDS
            self._store.enqueued.wait(wait)

    def hand_over(self, deliveries: list[Claimed]) -> None:
        """Attempt new deliveries already leased to this worker (they wait for a free sender)."""
        for claimed in deliveries:
            with self._count_lock:
                self._in_flight += 1
            try:
                self._pool.submit(self._attempt_and_release, claimed)
            except RuntimeError:  # shutting down: the lease runs out and the next server sends it
                with self._count_lock:
                    self._in_flight -= 1

    def _tick(self) -> float:
        """Send what is due; returns how long to wait before looking again."""
        if self._housekeeping:
            self._housekeeping()
        now = time.time()
        due = self._store.next_due()  # a read: the claim, a write, only when something is due
        if due is not None and due <= now:
            free = self._free_senders()
            if free == 0:
                return IDLE_POLL_SECONDS  # every sender is busy; the first to finish rings
            self.hand_over(self._store.claim_due(now, now + self._lease, free))
            due = self._store.next_due()
        if due is None:
            return IDLE_POLL_SECONDS
        return min(max(due - time.time(), 0.005), IDLE_POLL_SECONDS)

    def _free_senders(self) -> int:
        with self._count_lock:
            return SENDERS - self._in_flight

    def _attempt_and_release(self, claimed: Claimed) -> None:
        try:
            self._store.record(claimed.id, self.attempt(claimed))
        except Exception:  # the lease runs out and the delivery is attempted again: not lost
            logger.exception("could not record delivery %s", claimed.id)
        finally:
            with self._count_lock:
                self._in_flight -= 1
            self._store.enqueued.set()  # a sender is free: look for more

    def attempt(self, claimed: Claimed) -> Outcome:
        """Send one delivery once and decide what becomes of it."""
        code: int | None = None
        try:
            check_url(claimed.url, allow_private=self._allow_private)  # a name may have moved
            with self._client.stream("POST", claimed.url, content=claimed.body,
                                     headers=headers_for(claimed)) as response:
                code = response.status_code  # the body is not read: a receiver can not flood us
            error = None if 200 <= code < 300 else f"HTTP {code}"
        except (httpx.HTTPError, httpx.InvalidURL, BlackboxError) as exc:  # UnsafeUrl included
            error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
        return self._outcome(claimed.attempts + 1, code, error)

    def _outcome(self, attempts: int, code: int | None, error: str | None) -> Outcome:
        now = time.time()
        if error is None:
            return Outcome(DeliveryStatus.DELIVERED, now, code, None, None)
        if attempts >= self._policy.max_attempts:
            logger.warning("delivery dead after %d attempts: %s", attempts, error)
            return Outcome(DeliveryStatus.DEAD, now, code, error, None)
        retry_at = now + self._policy.delay(attempts, self._rng)
        return Outcome(DeliveryStatus.RETRYING, now, code, error, retry_at)
