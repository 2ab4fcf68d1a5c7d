"""One HTTP exchange with the API: headers, timeout, retries, errors, JSON.

Everything the resource methods of a backend's client share lives here, one
concern a function: `call` picks the retry rule, `_attempt` sends once and
maps what `requests` raises, `_read` turns the answer into a dict or an error.
Tests swap the network out by mounting an adapter on the session they pass in.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests
import requests.adapters

from reconciler import __version__
from reconciler.client.auth import QUOTA_PROJECT_HEADER, Credentials, credentials_problem
from reconciler.client.bounded_json import json_object
from reconciler.client.deadline import Deadline, Watchdog, WatchedAdapter
from reconciler.client.errors import (
    ApiError,
    CredentialsRefused,
    TransportError,
    UnexpectedResponse,
    error_from_response,
    error_from_transport,
    excerpt,
)
from reconciler.client.reading import AnswerTimedOut, read_body
from reconciler.client.retry import RetryPolicy, is_transient, never_processed, never_sent
from reconciler.client.slow import SlowNotices
from reconciler.model.secrets import REDACTED, scrub

# Google's attribution convention (as google-genai sends it): who calls, on
# which Python, in both the user agent and x-goog-api-client.
CLIENT_LABEL = f"reconciler/{__version__} gl-python/{platform.python_version()}"
USER_AGENT = CLIENT_LABEL
API_CLIENT_HEADER = "x-goog-api-client"
# After this long without an answer, say what is being waited for: a slow or
# silent endpoint should not look like a hung command.
SLOW_NOTICE_SECONDS = 5.0
__all__ = ["REDACTED", "USER_AGENT", "Answer", "Resend", "Transport", "new_session"]


@dataclass(frozen=True)
class Answer:
    """An answer's status, headers (case-insensitive) and JSON body."""

    status: int
    headers: Mapping[str, str]
    body: dict[str, Any]


class Resend(Enum):
    """When a failed call may be sent again."""

    IF_TRANSIENT = "if transient"
    """Idempotent calls: after no answer, 429, 500, 502, 503 or 504."""
    IF_NEVER_PROCESSED = "if never processed"
    """Calls that must not run twice: only after no connection at all, or a 429."""
    IF_NEVER_SENT = "if never sent"
    """Calls that must not run twice and are paced to a quota by their caller: only
    after no connection at all. A 429 goes to the caller at once, which waits for
    the quota through the apply's waiter (reconciler/client/pacing.py) instead of
    a backoff of its own here."""


def new_session(pool_size: int) -> requests.Session:
    """A session whose connection pool holds one connection per concurrent caller."""
    session = requests.Session()
    # Retries are ours (see retry.py), so urllib3 must not retry underneath.
    # Watched, so that the request timeout bounds a whole answer (deadline.py).
    adapter = WatchedAdapter(pool_maxsize=pool_size, max_retries=0)
    # Mounted per scheme, not on "": an empty prefix makes requests ignore
    # the adapter's settings (psf/requests#6533).
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_RETRY_IF = {
    Resend.IF_TRANSIENT: is_transient,
    Resend.IF_NEVER_PROCESSED: never_processed,
    Resend.IF_NEVER_SENT: never_sent,
}


class Transport:
    """Sends requests to one endpoint with one set of credentials; safe across threads."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        timeout: float,
        retry: RetryPolicy,
        session: requests.Session,
        quota_project: str | None = None,
        slow_notice: float | None = SLOW_NOTICE_SECONDS,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        refused = credentials_problem(self.endpoint, credentials)
        if refused is not None:  # before any request: a header sent in clear is out
            raise CredentialsRefused(refused)
        self.slow_notice = slow_notice
        self._slow = SlowNotices(slow_notice, self._slow_line) if slow_notice is not None else None
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry
        self.quota_project = quota_project
        self._session = session
        self._lock = threading.Lock()
        self._request_count = 0
        self._watchdog = Watchdog()

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, every retry included."""
        return self._request_count

    def close(self) -> None:
        self._session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        resend: Resend = Resend.IF_TRANSIENT,
        media: tuple[bytes, str] | None = None,
    ) -> dict[str, Any]:
        """Send `method /path` until it succeeds or retrying stops; the answer as a dict.

        `media` (bytes, content type) is sent as the raw body instead of JSON
        (Cloud Storage's media upload)."""
        return self.exchange(method, path, params=params, body=body, resend=resend, media=media).body

    def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        resend: Resend = Resend.IF_TRANSIENT,
        media: tuple[bytes, str] | None = None,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> Answer:
        """`call`, with the answer's status and headers: for exchanges whose
        headers carry the result (a resumable upload's `Location` and `Range`).
        `headers` are sent besides ours; a status in `accept` (308) is an
        answer, not an error."""
        what = f"{method} /{path}"
        retry_if = _RETRY_IF[resend]
        return self.retry.run(
            lambda: self._attempt(method, path, params, body, what, media, headers, accept),
            what=what,
            retry_if=retry_if,
        )

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        what: str,
        media: tuple[bytes, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> Answer:
        headers = {**(extra_headers or {}), **self._headers()}
        if media is not None:
            headers["content-type"] = media[1]
        self._count_request()
        token = self._slow.sent(what) if self._slow is not None else None
        try:
            with self._watchdog.attempt(self.timeout) as deadline:
                return self._exchange(method, path, params, body, headers, media, what, deadline, accept)
        finally:
            if self._slow is not None and token is not None:
                self._slow.answered(token)

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
        media: tuple[bytes, str] | None,
        what: str,
        deadline: Deadline,
        accept: frozenset[int] = frozenset(),
    ) -> Answer:
        """Send once and read the whole answer before `deadline`; a status in
        `accept` is answered without its body read as JSON."""
        try:
            response = self._session.request(
                method,
                f"{self.endpoint}/{path}",
                params=params,
                json=body if media is None else None,
                data=media[0] if media is not None else None,
                headers=headers,
                timeout=self.timeout,
                # A redirect would carry the API key header to wherever it points.
                allow_redirects=False,
                # Read below, within MAX_RESPONSE_BYTES and the deadline.
                stream=True,
            )
            try:
                content = read_body(response, deadline, what)
            finally:
                deadline.finish()  # before the connection can go to another attempt
                response.close()
        except AnswerTimedOut:
            raise self._timed_out(what) from None
        except requests.RequestException as exc:
            if deadline.expired:  # the watchdog cut the connection
                raise self._timed_out(what) from None
            raise self._scrubbed(error_from_transport(exc, request=what)) from exc
        if response.status_code in accept:
            return Answer(response.status_code, response.headers, {})
        return Answer(response.status_code, response.headers, self._read(response, content, what))

    def _timed_out(self, what: str) -> TransportError:
        """Retried like any timeout (a resend, when the call allows one)."""
        return TransportError(
            f"no whole answer within the request timeout of {self.timeout:g}s (requestTimeoutSeconds)",
            request=what,
        )

    def _slow_line(self, what: str) -> str:
        return (
            f"waiting for {what} at {self.endpoint}: no answer after {self.slow_notice:g}s "
            f"(giving up after {self.timeout:g}s)"
        )

    def _headers(self) -> dict[str, str]:
        headers = {
            "user-agent": USER_AGENT,
            API_CLIENT_HEADER: CLIENT_LABEL,
            "accept": "application/json",
        }
        self.credentials.apply(headers)
        if self.quota_project:
            headers[QUOTA_PROJECT_HEADER] = self.quota_project
        return headers

    def _count_request(self) -> None:
        with self._lock:
            self._request_count += 1

    def _read(self, response: requests.Response, content: bytearray, what: str) -> dict[str, Any]:
        # proto3 JSON is UTF-8; requests' charset guessing would be slow on big pages.
        text = content.decode("utf-8", errors="replace")
        del content
        status = response.status_code
        if not 200 <= status < 300:
            scrubbed = self._scrub(text)
            raise error_from_response(status, scrubbed, response.headers, request=what)
        if not text.strip():
            return {}
        parsed, problem = json_object(text)
        if parsed is None:
            raise UnexpectedResponse(
                f"answered with a body that is not a JSON object ({problem}): {excerpt(self._scrub(text))}",
                http_status=status,
                request=what,
            )
        return parsed

    def _scrub(self, text: str) -> str:
        """`text` with every secret the credentials hold replaced, in every form."""
        return scrub(text, self.credentials.secrets())

    def _scrubbed(self, error: ApiError) -> ApiError:
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        return error

    def __repr__(self) -> str:
        return f"Transport(endpoint={self.endpoint!r}, credentials={self.credentials!r})"
