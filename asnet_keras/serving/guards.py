"""What every request passes before its route runs: its Host header, and its body's size
and time (docs/serving.md §8).

`RequestGuard` is ASGI middleware around the whole application:

1. **Host.** The Host header must name one of `allowed_hosts` (any port): by default the
   loopback names `LOOPBACK_HOSTS`. A page on another site that a browser reaches under
   a name of that site's choosing (DNS rebinding) sends that name, and gets 400 before
   any route runs. "*" allows every name (no check).
2. **Body size.** A declared Content-Length over `max_body_bytes` is refused with 413 at
   once, nothing read. A body without one (chunked) is counted as it streams in, and the
   chunk that crosses the limit is answered 413 there: at most the limit and one chunk
   are ever held.
3. **Body time.** The whole body must arrive within `body_timeout` seconds of the
   request's headers, else 408.
4. **Requests at once.** At most `max_requests` requests are served at once (each holds
   one connection, its body at most the limit); one more is answered 503 at once, its
   body unread. Connections that are idle or still sending their headers do not count:
   they hold no body, and the HTTP protocol closes them after their timeouts
   (`asnet_keras.serving.connections`), so a client that opens many connections and
   sends nothing locks nobody out.

A refusal of 2, 3 or 4 closes the connection (`Connection: close`): the rest of that body is
never read. So does any answer sent before its request's body was read to the end (a
route that does not read it), so that an unread body never keeps a connection open. The
time before the headers are complete is bounded by the HTTP protocol
(`asnet_keras.serving.connections`), which runs before any ASGI code.
"""

import asyncio

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from asnet_keras.serving.limits import ANY_HOST, LOOPBACK_HOSTS, host_name

_CLOSE = {"Connection": "close"}


class RequestGuard:
    """ASGI middleware: the Host check and the body's size and time limits (module
    docstring).

    Args:
        app: the ASGI application guarded.
        allowed_hosts: host names accepted in the Host header (`allowed_hosts()`).
        max_body_bytes: the most bytes a request body may have.
        body_timeout: seconds from the request's headers to the end of its body.
        max_requests: requests served at once.
    """

    def __init__(self, app, *, allowed_hosts=LOOPBACK_HOSTS, max_body_bytes,
                 body_timeout, max_requests):
        self.app = app
        self.allowed_hosts = frozenset(allowed_hosts)
        self.max_body_bytes = int(max_body_bytes)
        self.body_timeout = float(body_timeout)
        self.max_requests = int(max_requests)
        self.in_flight = 0  # requests being served now

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        body = _GuardedBody(receive, self.max_body_bytes,
                            asyncio.get_running_loop().time() + self.body_timeout,
                            has_body=_has_body(headers))

        async def send_closing_if_unread(message):
            if message["type"] == "http.response.start" and not body.complete:
                headers = [(name, value) for name, value in message.get("headers", ())
                           if name.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        self.in_flight += 1
        try:
            await self.app(scope, body.receive, send_closing_if_unread)
        finally:
            self.in_flight -= 1

    def _refusal(self, headers):
        """The response refusing the request from its headers alone, or None."""
        if ANY_HOST not in self.allowed_hosts:
            host = host_name(headers.get("host"))
            if host not in self.allowed_hosts:
                shown = headers.get("host", "(none)")[:100]
                return JSONResponse({"detail": (
                    f"Host {shown!r} is not served here: this service answers to "
                    f"{', '.join(sorted(self.allowed_hosts))} (start it with --allow-host "
                    "NAME to add the name clients use)")}, status_code=400)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return JSONResponse({"detail": (
                f"upload too large: {int(length):,} bytes, the limit is "
                f"{self.max_body_bytes:,} (serve --max-upload-mb)")}, status_code=413,
                headers=_CLOSE)
        if self.in_flight >= self.max_requests:
            return JSONResponse({"detail": (
                f"busy: {self.in_flight} requests are being served, the most at once "
                "(serve --max-connections); retry in a moment")}, status_code=503,
                headers={**_CLOSE, "Retry-After": "1"})
        return None


def _has_body(headers):
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length != "0")


class _GuardedBody:
    """The request's `receive`, counting the body's bytes against the limit and its
    messages against the deadline; `complete` once the body has been read to its end."""

    def __init__(self, receive, limit, deadline, has_body):
        self._receive = receive
        self.limit = limit
        self.deadline = deadline
        self.received = 0
        self.complete = not has_body

    async def receive(self):
        if self.complete:  # after the body: a wait for the client's disconnect, unbounded
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            raise HTTPException(408, f"the request body did not arrive within the time "
                                     f"allowed ({self.received:,} bytes received); serve "
                                     "--body-timeout sets it", headers=_CLOSE) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise HTTPException(413, f"upload too large: over {self.limit:,} bytes "
                                         "(serve --max-upload-mb)", headers=_CLOSE)
            self.complete = not message.get("more_body", False)
        return message
