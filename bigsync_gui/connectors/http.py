"""One HTTP policy for both services: timeouts, polite retries, counting, URL safety.

- Every call has a (connect, read) timeout.
- Retries (tenacity: exponential backoff with jitter) only for transient failures — connection
  errors and timeouts, 5xx, 429/503 — and only when the call is idempotent. A create is never
  retried blindly: whether it happened is the engine's question (journal + lookup).
- ``Retry-After`` is honoured: waited inline when short, otherwise raised as :class:`RateLimited`
  so the caller can schedule instead of holding a thread.
- With a :class:`~.ratelimit.RateLimiter` (BigTime: one per firm), every attempt takes a slot
  first, and a 429/503 is the service's rate limit: everyone holds off for ``Retry-After`` or, when
  it gives none, a whole window (a few seconds of backoff cannot outlast a per-minute window). Reads
  are sent again, within ``RetryPolicy.rate_limit_windows`` windows of waiting in all; a create is
  not (see above). Then :class:`RateLimited` tells the loop to back off.
- Waits are interruptible and reported: see :func:`waits_reported`.
- Every attempt is counted per system (the engine's API budget and the benchmarks read it).
- A guard given by the caller (:func:`requests_guarded`) is asked before every attempt, token
  refreshes and describes included: the engine's API budget stops a cycle before a request that
  would pass it, not after.
"""

from __future__ import annotations

import email.utils
import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from .errors import InsecureUrl, Offline, RateLimited, ServiceUnavailable
from .ratelimit import RateLimiter
from .systems import label_of
from .wording import duration

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 503})
REPORT_WAITS_FROM = 3.0  # seconds: shorter pacing waits are not worth telling anyone about


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_url(system: str, url: str) -> str:
    """HTTPS for everything but this machine (the sandbox, the loopback redirect)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        raise InsecureUrl(
            system,
            f"{url} uses http://; only https:// is allowed for a host other than this computer, "
            "because tokens would travel unencrypted.",
        )
    raise InsecureUrl(system, f"{url!r} is not a web address (it must start with https://).")


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RequestCounter:
    """Attempts per system and per outcome ("200", "503", "connection-error"). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, system: str, outcome: str) -> None:
        with self._lock:
            self._counts[(system, outcome)] += 1

    def total(self, system: str | None = None) -> int:
        with self._lock:
            return sum(n for (s, _), n in self._counts.items() if system is None or s == system)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (system, outcome), n in self._counts.items():
                out.setdefault(system, {})[outcome] = n
            return out


class _Transient(Exception):
    """One failed attempt worth another try (internal to the retry loop)."""

    def __init__(self, response: requests.Response | None = None, error: Exception | None = None) -> None:
        super().__init__(str(error) if error else f"HTTP {response.status_code if response is not None else '?'}")
        self.response = response
        self.error = error
        self.retry_after = retry_after_seconds(response) if response is not None else None


class _Throttled(Exception):
    """A 429/503 under a rate limiter: the service's limit, handled outside the short retries."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.status = response.status_code
        self.retry_after = retry_after_seconds(response)


_context = threading.local()


@contextmanager
def waits_reported(
    cancel: threading.Event | None, on_wait: Callable[[str, float], None] | None = None
) -> Iterator[None]:
    """On this thread, within the block: a rate-limit wait ends early when ``cancel`` is set (as
    :class:`RateLimited`), and ``on_wait(system, seconds)`` is told each wait of
    ``REPORT_WAITS_FROM`` seconds or more when it starts, and ``on_wait(system, 0)`` when it ends
    (the engine's cycle uses it to show "Waiting for BigTime's rate limit")."""
    previous = getattr(_context, "value", None)
    _context.value = (cancel, on_wait)
    try:
        yield
    finally:
        _context.value = previous


@contextmanager
def requests_guarded(guard: Callable[[str], None]) -> Iterator[None]:
    """On this thread, within the block: ``guard(system)`` runs before every attempt of any
    :class:`HttpPolicy`; what it raises ends the request unsent (the caller's budget; this
    module stays free of the caller's types)."""
    previous = getattr(_guard, "value", None)
    _guard.value = guard
    try:
        yield
    finally:
        _guard.value = previous


_guard = threading.local()


@dataclass
class RetryPolicy:
    attempts: int = 4  # the first try included
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_inline_retry_after: float = 30.0  # a longer Retry-After is raised as RateLimited (no limiter)
    rate_limit_windows: float = 3.0  # under a limiter: the longest wait for 429/503 on one request, in windows
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


class HttpPolicy:
    """A ``requests.Session`` wrapped in the policy, for one system. ``limiter`` (may be set later,
    by whoever knows the firm) paces every attempt."""

    def __init__(
        self,
        system: str,
        counter: RequestCounter | None = None,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        user_agent: str = "bigsync-gui",
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.system = system
        self.counter = counter or RequestCounter()
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.verify = True  # TLS verification is never turned off
        self.limiter = limiter
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait, jitter=self.policy.jitter
        )

    @property
    def label(self) -> str:
        return label_of(self.system)

    def request(self, method: str, url: str, *, idempotent: bool | None = None, **kwargs: Any) -> requests.Response:
        """Send with the policy. Returns the final response for any non-transient status (the
        caller interprets 4xx); raises Offline / ServiceUnavailable / RateLimited otherwise."""
        require_secure_url(self.system, url)
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        kwargs.setdefault("timeout", (self.policy.connect_timeout, self.policy.read_timeout))
        rate_waited = 0.0
        while True:
            retrying = Retrying(
                stop=stop_after_attempt(self.policy.attempts if idempotent else 1),
                wait=self._wait,
                retry=retry_if_exception_type(_Transient),
                reraise=True,
                sleep=self._sleep,
            )
            try:
                for attempt in retrying:
                    with attempt:
                        return self._attempt(method, url, kwargs)
            except _Transient as final:
                raise self._give_up(final) from None
            except _Throttled as refused:
                rate_waited += self._hold_off(refused, idempotent, rate_waited)

    def _attempt(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        guard = getattr(_guard, "value", None)
        if guard is not None:
            guard(self.system)
        self._pace()
        try:
            response = self.session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.counter.add(self.system, "connection-error")
            raise _Transient(error=exc) from None
        self.counter.add(self.system, str(response.status_code))
        if response.status_code in TRANSIENT_STATUSES:
            if self.limiter is not None and response.status_code in THROTTLE_STATUSES:
                raise _Throttled(response)
            transient = _Transient(response=response)
            if transient.retry_after is not None and transient.retry_after > self.policy.max_inline_retry_after:
                raise RateLimited(self.system, transient.retry_after)
            raise transient
        return response

    # ---- the rate limit (only with a limiter) ------------------------------------------------
    def _pace(self) -> None:
        if self.limiter is not None:
            delay = self.limiter.reserve()
            if delay > 0:
                self._wait_interruptibly(delay)

    def _hold_off(self, refused: _Throttled, idempotent: bool, waited: float) -> float:
        """Everyone on this limiter holds off for ``Retry-After``, else a whole window; the seconds
        to add to this request's waiting. Raises RateLimited for a create (whether it reached the
        service is the engine's question) and when the waiting would pass the policy's bound; the
        loop then waits, and the limiter holds at most a window (other callers are not stalled)."""
        assert self.limiter is not None
        wait = refused.retry_after if refused.retry_after is not None else self.limiter.window
        budget = self.policy.rate_limit_windows * self.limiter.window
        if not idempotent or waited + wait > budget:
            self.limiter.hold(min(wait, self.limiter.window))
            raise RateLimited(
                self.system,
                wait,
                f"{self.label} is limiting requests (HTTP {refused.status}); next try in about {duration(wait)}.",
            )
        self.limiter.hold(wait)
        return wait

    def _wait_interruptibly(self, seconds: float) -> None:
        cancel, on_wait = getattr(_context, "value", None) or (None, None)
        report = on_wait if on_wait is not None and seconds >= REPORT_WAITS_FROM else None
        if report:
            report(self.system, seconds)
        try:
            if cancel is None:
                self._sleep(seconds)
            elif cancel.wait(seconds):
                raise RateLimited(self.system, seconds, f"Stopped while waiting for {self.label}'s rate limit.")
        finally:
            if report:
                report(self.system, 0.0)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = self._backoff(state)
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return max(exc.retry_after, 0.0)
        return backoff

    def _give_up(self, final: _Transient) -> Exception:
        label = self.label
        if final.response is None:
            return Offline(
                self.system,
                f"{label} could not be reached ({_describe(final.error)}). "
                "Check the network connection; the sync will try again.",
            )
        status = final.response.status_code
        if status in (429, 503) and final.retry_after is not None:
            return RateLimited(
                self.system,
                final.retry_after,
                f"{label} is limiting requests (HTTP {status}); next try in {final.retry_after:.0f} s.",
            )
        return ServiceUnavailable(
            self.system, status, f"{label} answered HTTP {status} repeatedly; the sync will try again later."
        )


def _describe(error: Exception | None) -> str:
    if isinstance(error, requests.Timeout):
        return "the request timed out"
    if isinstance(error, requests.ConnectionError):
        text = str(error)
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "the host name could not be resolved"
        if "Connection refused" in text:
            return "the connection was refused"
        if "RemoteDisconnected" in text or "Connection aborted" in text:
            return "the connection was dropped before an answer came"
        return "connection error"
    return "unknown error"
