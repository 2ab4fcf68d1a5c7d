"""Which credentials to send, chosen from the environment in a fixed order.

1. `GENERATIVELANGUAGE_EMULATOR_HOST`: a local emulator over plain HTTP, no
   credentials at all (as Google's other emulators do).
2. An API key from `GOOGLE_API_KEY`, then `GEMINI_API_KEY`, sent as `x-goog-api-key`
   (google-genai's order and warning, so two tools on one machine use one key).
3. Application Default Credentials with the cloud-platform and tuning scopes,
   refreshed when due, with `x-goog-user-project` naming the quota project.

Every credential object keeps its secret out of `repr` and can list the
secrets it holds, so the transport can scrub them from anything it reports.

Credentials go only over https, or over http to a server on this machine
(127.0.0.1, ::1, localhost): `credentials_problem` says why not, and the
transport refuses before any request. An emulator variable never takes real
credentials off this machine (`emulator_with_credentials`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from reconciler.client.errors import SCOPES, CredentialsError, CredentialsRefused, TransportError
from reconciler.model.settings import is_loopback

logger = logging.getLogger("reconciler.client")

EMULATOR_HOST_ENV = "GENERATIVELANGUAGE_EMULATOR_HOST"
# Where an API key is read from (GOOGLE_API_KEY wins, as in google-genai): secrets.
API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
API_KEY_HEADER = "x-goog-api-key"
QUOTA_PROJECT_HEADER = "x-goog-user-project"


class Credentials(Protocol):
    """Something that authenticates a request by adding headers to it."""

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Add the authentication headers (refreshing a token first if needed)."""

    def secrets(self) -> tuple[str, ...]:
        """The secret strings held right now, for scrubbing from messages."""

    def describe(self) -> str:
        """A line for people, e.g. "API key from GEMINI_API_KEY"; never the secret."""


class Anonymous:
    """No credentials: what a local emulator expects."""

    def apply(self, headers: MutableMapping[str, str]) -> None:
        pass

    def secrets(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return "no credentials"

    def __repr__(self) -> str:
        return "Anonymous()"


class ApiKey:
    """An API key sent in a header (never in the URL, where logs would keep it)."""

    def __init__(self, key: str, source: str = "an API key") -> None:
        self._key = key
        self.source = source

    def apply(self, headers: MutableMapping[str, str]) -> None:
        headers[API_KEY_HEADER] = self._key

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)

    def describe(self) -> str:
        return f"API key from {self.source}"

    def __repr__(self) -> str:
        return f"ApiKey(source={self.source!r})"


class GoogleCredentials:
    """OAuth access tokens from google-auth credentials, refreshed when expired.

    `credentials` is a `google.auth.credentials.Credentials` (anything with
    `valid`, `token` and `refresh(request)`). The lock makes one thread refresh
    while the others of a pool wait for the new token.
    """

    def __init__(
        self,
        credentials: Any,
        refresh_request: Callable[[], Any] | None = None,
    ) -> None:
        self._credentials = credentials
        self._refresh_request = refresh_request or _google_auth_request
        self._lock = threading.Lock()

    def apply(self, headers: MutableMapping[str, str]) -> None:
        headers["authorization"] = f"Bearer {self._fresh_token()}"

    def secrets(self) -> tuple[str, ...]:
        token = getattr(self._credentials, "token", None)
        return (token,) if token else ()

    def describe(self) -> str:
        return f"Application Default Credentials ({type(self._credentials).__name__})"

    def __repr__(self) -> str:
        return f"GoogleCredentials({type(self._credentials).__name__})"

    def _fresh_token(self) -> str:
        with self._lock:
            if not self._credentials.valid:
                self._refresh()
            return str(self._credentials.token)

    def _refresh(self) -> None:
        import google.auth.exceptions

        try:
            self._credentials.refresh(self._refresh_request())
        except google.auth.exceptions.TransportError as exc:
            # The token endpoint was not reached: a network failure, not a credentials one.
            raise TransportError(
                f"could not reach the token endpoint to refresh the access token: {exc}", sent=False
            ) from exc
        except google.auth.exceptions.GoogleAuthError as exc:
            raise CredentialsError(f"could not refresh the access token: {exc}") from exc


@dataclass(frozen=True)
class Connection:
    """Where to send requests and how to authenticate them."""

    endpoint: str
    credentials: Credentials
    quota_project: str | None = None


AdcLoader = Callable[[Sequence[str]], tuple[Any, str | None]]


def _google_auth_request() -> Any:
    import google.auth.transport.requests

    return google.auth.transport.requests.Request()


# google-auth is imported where it is used, not at start: it takes a tenth of a
# second, and an API key or the emulator (most runs) never needs it.
def load_default_credentials(scopes: Sequence[str]) -> tuple[Any, str | None]:
    """Application Default Credentials and the quota project they name, if any."""
    import google.auth
    import google.auth.exceptions

    try:
        credentials, _project = google.auth.default(scopes=list(scopes))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise CredentialsError(f"no credentials found: {exc}") from exc
    return credentials, getattr(credentials, "quota_project_id", None)


def resolve_connection(
    endpoint: str,
    quota_project: str | None,
    env: Mapping[str, str],
    load_adc: AdcLoader = load_default_credentials,
) -> Connection:
    """Apply the credential order: emulator host, then an API key, then ADC."""
    emulator_host = env.get(EMULATOR_HOST_ENV, "").strip()
    if emulator_host:
        return Connection(emulator_url(emulator_host), Anonymous())
    api_key = _api_key_from(env)
    if api_key is not None:
        return Connection(endpoint, api_key)
    credentials, adc_quota_project = load_adc(SCOPES)
    return Connection(endpoint, GoogleCredentials(credentials), quota_project or adc_quota_project)


def emulator_url(host: str) -> str:
    """`127.0.0.1:8095` -> `http://127.0.0.1:8095` (a scheme given is kept)."""
    return host.rstrip("/") if "://" in host else f"http://{host.rstrip('/')}"


def credentials_problem(endpoint: str, credentials: Credentials) -> str | None:
    """Why `credentials` must not be sent to `endpoint`, or None: they go over
    https, or over plain http only to this machine."""
    if isinstance(credentials, Anonymous):
        return None
    parts = urlsplit(endpoint)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return None
    return (
        f"{credentials.describe()} would be sent to {parts.scheme}://{parts.hostname} in clear; "
        "credentials go over https, or over http only to an emulator on this machine "
        "(127.0.0.1, ::1, localhost)"
    )


def emulator_with_credentials(variable: str, host: str) -> str:
    """The URL of the emulator `variable` names, when real credentials will be
    sent to it: only one on this machine may have them."""
    url = emulator_url(host)
    if not is_loopback(urlsplit(url).hostname or ""):
        raise CredentialsRefused(
            f"{variable} names an emulator that is not on this machine, and real credentials "
            "would be sent to it; point it at 127.0.0.1, ::1 or localhost, or unset it"
        )
    return url


def _api_key_from(env: Mapping[str, str]) -> ApiKey | None:
    found = [(name, env.get(name, "").strip()) for name in API_KEY_VARIABLES]
    found = [(name, key) for name, key in found if key]
    if not found:
        return None
    if len(found) > 1:  # google-genai's words, whether or not the two keys differ
        logger.warning("Both %s and %s are set. Using %s.", *API_KEY_VARIABLES, found[0][0])
    name, key = found[0]
    if not (key.isascii() and key.isprintable()) or " " in key:
        # It could not be sent in a header, and the HTTP library's error would
        # quote it; say what is wrong without showing it.
        raise CredentialsError(f"{name} must be one word of printable ASCII characters (is there a newline in it?)")
    return ApiKey(key, name)
