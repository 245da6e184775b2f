"""Registering CAS services and matching a `service` URL to one (exact URL or path prefix)."""
from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from sqlalchemy import select

from ...clients.service import validate_uri
from ...errors import NotFound, ValidationError
from ...extensions import db
from .models import MATCH_EXACT, MATCH_PREFIX, CasService

MAX_SERVICE_URL = 2048


def register_service(*, name: str, service_url: str, match: str = MATCH_EXACT, single_logout: bool = True,
                     slo_url: str | None = None, release_id_number: bool = False) -> CasService:
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise ValidationError("service name must be 1 to 128 characters")
    if match not in (MATCH_EXACT, MATCH_PREFIX):
        raise ValidationError(f"match must be {MATCH_EXACT!r} or {MATCH_PREFIX!r}")
    service_url = validate_uri(service_url, "service URL")
    parts = urlsplit(service_url)
    if parts.username is not None or parts.password is not None:
        raise ValidationError("a service URL must not contain user information")
    if match == MATCH_PREFIX:
        if parts.query:
            raise ValidationError("a prefix pattern must not contain a query")
        if not parts.path.endswith("/"):
            # "https://a.gov.cn/app" would also match "https://a.gov.cn/application": patterns end at a "/".
            service_url += "/"
    if slo_url:
        slo_url = validate_uri(slo_url, "single logout URL")
    service = CasService(name=name, service_url=service_url, match=match, single_logout=single_logout,
                         slo_url=slo_url or None, release_id_number=release_id_number)
    db.session.add(service)
    db.session.commit()
    return service


def list_services() -> list[CasService]:
    return list(db.session.scalars(select(CasService).order_by(CasService.id)))


def get_service(service_id: int) -> CasService | None:
    service = db.session.get(CasService, service_id)
    return None if service is None or service.disabled else service


def get_service_by_key(key: str) -> CasService | None:
    """The service recorded in an SSO session as ``cas:<id>``; None for other keys."""
    if not isinstance(key, str) or not key.startswith("cas:") or not key[4:].isdigit():
        return None
    return get_service(int(key[4:]))


def disable_service(service_id: int) -> CasService:
    service = db.session.get(CasService, service_id)
    if service is None:
        raise NotFound(f"no CAS service {service_id}")
    service.disabled = True
    db.session.commit()
    return service


def _acceptable(url: str) -> bool:
    if not isinstance(url, str) or not url or len(url) > MAX_SERVICE_URL:
        return False
    if any(ch in url for ch in "\\\r\n\t ") or "#" in url:
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    path = parts.path or "/"
    # No dot segments, plain or encoded: "/app/../admin" must not pass as being under "/app/".
    return posixpath.normpath(path) in (path, path.rstrip("/")) and "%2e" not in path.lower()


def _under(url: str, pattern: str) -> bool:
    service, prefix = urlsplit(url), urlsplit(pattern)
    if (service.scheme, service.netloc.lower()) != (prefix.scheme, prefix.netloc.lower()):
        return False
    path = service.path or "/"
    return path.startswith(prefix.path or "/")


def find_service(url: str) -> CasService | None:
    """The enabled service ``url`` belongs to: an exact registration first, else the longest prefix."""
    if not _acceptable(url):
        return None
    services = list(db.session.scalars(select(CasService).where(CasService.disabled.is_(False))))
    for service in services:
        if service.match == MATCH_EXACT and service.service_url == url:
            return service
    prefixed = [s for s in services if s.match == MATCH_PREFIX and _under(url, s.service_url)]
    return max(prefixed, key=lambda s: len(s.service_url), default=None)
