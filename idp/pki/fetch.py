"""Fetching CRLs and OCSP responses: local files or HTTP(S), with size and time limits."""
from __future__ import annotations

from pathlib import Path

import requests

MAX_RESPONSE = 32 * 1024 * 1024


class FetchError(Exception):
    pass


def fetch(location: str, *, body: bytes | None = None, content_type: str | None = None,
          timeout: float = 3.0) -> bytes:
    """GET (or POST ``body`` to) an http(s) URL, or read a file path / file:// URL."""
    if location.startswith(("http://", "https://")):
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            if body is None:
                resp = requests.get(location, timeout=timeout, stream=True)
            else:
                resp = requests.post(location, data=body, headers=headers, timeout=timeout,
                                     stream=True)
            resp.raise_for_status()
            chunks, size = [], 0
            for chunk in resp.iter_content(65536):
                size += len(chunk)
                if size > MAX_RESPONSE:
                    raise FetchError(f"{location}: response larger than {MAX_RESPONSE} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
        except requests.RequestException as exc:
            raise FetchError(f"{location}: {exc}") from None
    if "://" in location and not location.startswith("file://"):
        raise FetchError(f"{location}: unsupported URL scheme")
    path = Path(location.removeprefix("file://"))
    try:
        if path.stat().st_size > MAX_RESPONSE:
            raise FetchError(f"{path}: file too large")
        return path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: {exc.strerror}") from None
