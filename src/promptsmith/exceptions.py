"""Errors raised inside promptsmith.

    PromptsmithError
    ├── ApiError                      -> an HTTP error response in the envelope
    │   ├── BadRequest                   400
    │   ├── Unauthorized                 401
    │   ├── Forbidden                    403
    │   ├── NotFound                     404
    │   ├── Conflict                     409
    │   ├── MethodNotAllowed             405
    │   ├── PayloadTooLarge              413
    │   ├── RateLimited                  429 (+ Retry-After)
    │   └── ServiceUnavailable           503
    ├── SetupRequired                 provider has no key/base URL configured
    │                                   (503 `ai_setup_required`, or an
    │                                    `ai-setup-required` stream event)
    └── ProviderError                 an upstream model call failed
        ├── ProviderConnectionError      could not connect / connection dropped  (retryable)
        ├── ProviderRateLimited          429                                    (retryable)
        ├── ProviderOverloaded           5xx, 529                               (retryable)
        ├── ProviderTimeout              connect / first-token / idle timeout
        ├── ProviderRequestError         4xx other than 429: bad request, auth  (final)
        └── StreamInterrupted            failed after the first token was sent  (final)

`retryable` on a ProviderError says whether the router may try again (or fall
back) — which it only does before the first token reached the client.
"""

from __future__ import annotations


class PromptsmithError(Exception):
    """Base class for every error promptsmith raises on purpose."""


class ApiError(PromptsmithError):
    """An error that maps directly to an HTTP response in the error envelope."""

    status_code = 500
    default_error = "Internal Server Error"

    def __init__(
        self,
        error: str | None = None,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        self.error = error or self.default_error
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message or self.error)


class BadRequest(ApiError):
    status_code = 400
    default_error = "Bad Request"


class Unauthorized(ApiError):
    status_code = 401
    default_error = "Unauthorized"


class Forbidden(ApiError):
    status_code = 403
    default_error = "Forbidden"


class NotFound(ApiError):
    status_code = 404
    default_error = "Not Found"


class Conflict(ApiError):
    status_code = 409
    default_error = "Conflict"


class MethodNotAllowed(ApiError):
    status_code = 405
    default_error = "Method Not Allowed"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_error = "Payload Too Large"


class RateLimited(ApiError):
    status_code = 429
    default_error = "Too Many Requests"


class ServiceUnavailable(ApiError):
    status_code = 503
    default_error = "Service Unavailable"


class SetupRequired(PromptsmithError):
    """The resolved provider cannot be called: it has no API key and no base URL."""

    def __init__(self, provider: str, reason: str, message: str, code: str = "missing_api_key"):
        self.provider = provider
        self.reason = reason
        self.message = message
        self.code = code
        super().__init__(message)


class ProviderError(PromptsmithError):
    """An upstream model call failed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.retry_after = retry_after
        super().__init__(message)


class ProviderConnectionError(ProviderError):
    retryable = True


class ProviderRateLimited(ProviderError):
    retryable = True


class ProviderOverloaded(ProviderError):
    retryable = True


class ProviderTimeout(ProviderError):
    retryable = True


class ProviderRequestError(ProviderError):
    retryable = False


class StreamInterrupted(ProviderError):
    retryable = False
