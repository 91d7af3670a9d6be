"""The later pages of a list walk over aiohttp, behind httpx's transport interface.

httpx's async stack (httpcore's pool over anyio) costs about three times the CPU of the same GET
made through aiohttp, and a large read is almost all later pages (``bench_cpu.py``: 500 pages
at 8 in flight, 0.50 s of CPU through httpx, 0.17 s through this transport). Only those pages
come this way (:class:`~.client.ClickSendClient` chooses): a send keeps httpx's own transport,
whose errors say whether the request left (which decides whether it may be repeated), and a
query of one page never imports aiohttp.

aiohttp's failures are raised as the httpx errors they are: one before the request was written
is a ``ConnectError`` / ``ConnectTimeout``, one after it a ``ReadError`` / ``ReadTimeout`` /
``RemoteProtocolError``; the client retries a GET after any of them.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any

import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    """GETs through one ``aiohttp.ClientSession`` (opened at the first, on the running loop)
    with httpx's TLS context, at most ``limit`` connections, ``timeout`` seconds to connect and
    between reads, the environment's proxy, no redirects followed, and the body handed to httpx
    undecoded (httpx decodes it by its ``Content-Encoding``)."""

    def __init__(self, *, limit: int, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limit, self._timeout = limit, timeout
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._session: Any = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        if request.method != "GET":
            raise httpx.UnsupportedProtocol(f"{request.method}: this transport reads pages only")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=self._timeout),
                auto_decompress=False,
            )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw if k.lower() != b"host"]
        try:
            async with self._session.get(str(request.url), headers=headers, allow_redirects=False,
                                         proxy=self._proxy(request.url)) as answer:
                body = await answer.read()
                status, raw_headers = answer.status, answer.raw_headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connecting timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "reading timed out", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(status, headers=raw_headers, stream=httpx.ByteStream(body), request=request)  # read (and counted) by httpx

    def _proxy(self, url: httpx.URL) -> str | None:
        """The proxy the environment names for this origin (``HTTPS_PROXY``, ``ALL_PROXY``,
        ``NO_PROXY``), as httpx takes them; looked up once per origin (aiohttp's ``trust_env``
        reads them, and ``~/.netrc``, on every request)."""
        origin = (url.scheme, url.host)
        if origin not in self._proxies:
            proxies = urllib.request.getproxies()
            named = proxies.get(url.scheme) or proxies.get("all")
            self._proxies[origin] = None if urllib.request.proxy_bypass(url.host) else named
        return self._proxies[origin]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
