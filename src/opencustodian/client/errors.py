"""Typed exceptions raised by the client.

OAuth error responses follow RFC 6749 §5.2 (``error``, ``error_description``, ``error_uri``);
``Retry-After`` follows RFC 9110 §10.2.3 and is reported in seconds.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class of every error the client raises on purpose."""


class OAuthError(ClientError):
    """The server answered with an OAuth error or an unexpected HTTP status.

    Attributes:
        status: the HTTP status code of the response.
        error: the RFC 6749 §5.2 ``error`` code, or ``http_<status>`` when the body had none.
        description: ``error_description`` when the server gave one.
        error_uri: ``error_uri`` when the server gave one.
        retry_after: seconds to wait before retrying (from ``Retry-After``), when given.
    """

    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        *,
        error_uri: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.error_uri = error_uri
        self.retry_after = retry_after
        detail = f": {description}" if description else ""
        super().__init__(f"HTTP {status} {error}{detail}")


class RateLimitedError(OAuthError):
    """HTTP 429 Too Many Requests (e.g. a token endpoint allowing 50 calls a minute)."""


class InvalidResponseError(ClientError):
    """A successful HTTP response whose body is not what the protocol requires."""


class TokenUnavailableError(ClientError):
    """The token cache holds no usable token for an authorization and cannot refresh one."""


class BatchListError(ClientError, ValueError):
    """A notification body is not a well-formed, safe ESPI ``BatchList``."""


class FeedError(ClientError, ValueError):
    """A usage feed is unsafe, malformed, too large or cannot be fetched as asked.

    Raised for a DOCTYPE or entity declaration, XML that is not well-formed, a document over
    the byte cap, resources that cannot be linked into a tree, out-of-range numbers, and paging
    that leaves the feed's origin or loops.
    """


class FeedPendingError(ClientError):
    """The custodian accepted the feed request for later (``202 Accepted``, seed 000 §3.1).

    A large Batch/Subscription or a Bulk request is prepared as a job; the custodian POSTs a
    BatchList naming ``job_uri`` to the notification URI when it is ready, and the job URI
    answers the feed then.

    Attributes:
        job_uri: the job's URI (the ``Location`` header, absolute), if given.
        retry_after: seconds the custodian suggests waiting (``Retry-After``), if given.
    """

    def __init__(self, job_uri: str | None, retry_after: float | None = None) -> None:
        self.job_uri = job_uri
        self.retry_after = retry_after
        super().__init__(f"the custodian is preparing the feed as a job: {job_uri or 'no URI'}")
