"""The HTTP connections the service accepts, and how long it waits on each
(docs/serving.md §8).

uvicorn (0.55, with its pure-Python h11 protocol) already bounds part of a connection's
life: `timeout_keep_alive` closes a connection idle after a response; h11 refuses a
request line and headers over 16 KiB with 400. Its `limit_concurrency` (503 to a request
that arrives while that many connections are open) is not used: it counts idle and
stalled connections too, so a client holding that many silent connections would lock
everyone out until they time out; `guards.RequestGuard` counts requests being served
instead. What uvicorn does not bound is the time to the end of a request's headers: a
connection that opens and sends nothing, or half a request line, or one header byte a
minute, is held for ever (no ASGI code runs before the headers are complete, so no
middleware can see it).

`GuardedH11Protocol` is uvicorn's h11 protocol with that timeout: while a connection
waits for a request's headers (just opened, or after a response) it gets at most
`header_timeout` seconds from then to the end of the headers, after which it is closed.
The body's size and time are bounded after the headers by `guards.RequestGuard`.

`server_options(...)` gives the keyword arguments of `uvicorn.run`/`uvicorn.Config`
for these.
"""

import functools

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from asnet_keras.serving.limits import DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT



class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that takes more than
    `header_timeout` seconds to complete a request's headers (module docstring).

    The timer runs exactly while h11 waits for a request (its peer's state IDLE): it
    starts when the connection opens or a response completes, and stops when the
    request's headers have arrived. uvicorn's keep-alive timer runs beside it and closes
    an idle connection first; this one closes a connection that sends only part of a
    request.
    """

    def __init__(self, config, server_state, app_state, _loop=None, *,
                 header_timeout=DEFAULT_HEADER_TIMEOUT):
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = float(header_timeout)
        self._header_timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self._follow_state()

    def data_received(self, data):
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self):
        super().on_response_complete()
        self._follow_state()

    def connection_lost(self, exc):
        self._stop_header_timer()
        super().connection_lost(exc)

    def _follow_state(self):
        """Run the header timer while the peer has yet to send a request's headers."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not waiting:
            self._stop_header_timer()
        elif self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout,
                                                      self._header_timeout_expired)

    def _stop_header_timer(self):
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout_expired(self):
        self._header_timer = None
        self.logger.debug("closing a connection whose request headers took more than %s s",
                          self.header_timeout)
        self.timeout_keep_alive_handler()  # uvicorn's close of an idle connection


def server_options(*, header_timeout=DEFAULT_HEADER_TIMEOUT,
                   keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT):
    """The `uvicorn.run` keyword arguments for the service's connections.

    Args:
        header_timeout: seconds to the end of a request's headers (`GuardedH11Protocol`).
        keep_alive_timeout: seconds an idle connection stays open after a response.
    """
    return {
        "http": functools.partial(GuardedH11Protocol, header_timeout=header_timeout),
        "timeout_keep_alive": keep_alive_timeout,
    }
