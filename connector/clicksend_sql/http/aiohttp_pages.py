"""The later pages of a list walk, fetched over aiohttp and answered as httpx responses.

httpx's async stack (its client layer, httpcore's pool over anyio) costs about three times the CPU
of the same GET made through aiohttp, and a large read is almost all later pages: the client's
pages skip it altogether, their URL's path and headers made once per walk (500 pages at 8 in
flight: 0.50 s of CPU through httpx, 0.17 s through httpx's client over aiohttp, 0.14 s this way).
Only those pages come this way
(:class:`~.client.ClickSendClient` chooses): a send keeps httpx's own transport, whose errors say
whether the request left (which decides whether it may be repeated), and a query of one page never
imports aiohttp.

aiohttp's failures are raised as the httpx errors they are: one while connecting is a
``ConnectError`` / ``ConnectTimeout``, one after it a ``ReadError`` / ``ReadTimeout`` /
``RemoteProtocolError``; the client retries a GET after any of them. (aiohttp itself sends a GET
again once on a fresh connection when a reused one turns out closed, so a connect error can follow
a request that was written: one more reason no send ever comes this way.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
import weakref
from collections.abc import Mapping
from typing import Any

import httpx


def reaches(url: str) -> bool:
    """Whether this transport reaches ``url`` as httpx would: directly or through an HTTP(S) proxy
    (a SOCKS proxy is httpx's alone).

    >>> reaches("https://rest.clicksend.com/v3")
    True
    """
    parsed = httpx.URL(url)
    proxy = environment_proxy(parsed.scheme, parsed.host)
    return proxy is None or proxy.startswith(("http://", "https://"))


def environment_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment names for URLs of ``scheme`` to ``host`` (``HTTPS_PROXY``, else
    ``ALL_PROXY``; ``NO_PROXY``), as httpx reads them."""
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    named = proxies.get(scheme) or proxies.get("all")
    return _with_scheme(named) if named else None


def _with_scheme(proxy: str) -> str:
    """A proxy named without a scheme is an HTTP proxy, as httpx takes it.

    >>> _with_scheme("proxy.corp:3128"), _with_scheme("https://proxy.corp"), _with_scheme("socks5://p:1080")
    ('http://proxy.corp:3128', 'https://proxy.corp', 'socks5://p:1080')
    """
    return proxy if "://" in proxy else f"http://{proxy}"


class AiohttpPages:
    """GETs through one ``aiohttp.ClientSession`` (opened at the first, on the running loop)
    with httpx's TLS context, at most ``limit`` connections, ``timeout`` seconds to connect and
    between reads, the environment's proxy, no redirects followed, and the body handed to httpx
    undecoded (httpx decodes it by its ``Content-Encoding``)."""

    def __init__(self, *, limit: int, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limit, self._timeout = limit, timeout
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._session: Any = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    async def get(self, url: str, headers: Mapping[str, str]) -> httpx.Response:
        """GET ``url`` (sent exactly as encoded) with ``headers``; the whole answer, read."""
        import aiohttp
        import yarl

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl),
                # connect: the wait for a connection and the DNS lookup too, as httpx's connect timeout
                timeout=aiohttp.ClientTimeout(connect=self._timeout, sock_connect=self._timeout, sock_read=self._timeout),
                auto_decompress=False,
            )
            # a connection dropped unclosed (a script's end, a notebook's next connect()) closes it
            weakref.finalize(self, _close, asyncio.get_running_loop(), self._session)
        try:
            target = yarl.URL(url, encoded=True)
            async with self._session.get(target, headers=headers, allow_redirects=False,
                                         proxy=self._proxy(target.scheme, target.host or "")) as answer:
                body = await answer.read()
                status, raw_headers = answer.status, answer.raw_headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connecting timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "reading timed out") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected") from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        response = httpx.Response(status, headers=raw_headers, stream=httpx.ByteStream(body))
        response.read()  # decoded, and counted in num_bytes_downloaded, as httpx's own client does
        return response

    def _proxy(self, scheme: str, host: str) -> str | None:
        """:func:`environment_proxy`, looked up once per origin (aiohttp's ``trust_env`` reads the
        environment, and ``~/.netrc``, on every request)."""
        origin = (scheme, host)
        if origin not in self._proxies:
            self._proxies[origin] = environment_proxy(scheme, host)
        return self._proxies[origin]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _close(loop: asyncio.AbstractEventLoop, session: Any) -> None:
    """Close a session its transport was dropped without closing, on its own loop (waited for,
    unless this is that loop's thread); nothing to do once its loop has stopped."""
    if session.closed or not loop.is_running():
        return
    with contextlib.suppress(RuntimeError):
        if asyncio.get_running_loop() is loop:
            loop.create_task(session.close())
            return
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=5)
