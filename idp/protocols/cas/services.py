"""Registering CAS services and matching a `service` URL to one (exact URL or path prefix)."""
from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from sqlalchemy import select

from ...clients.metadata import validate_uri
from ...errors import NotFound, ValidationError
from ...extensions import db
from .models import MATCH_EXACT, MATCH_PREFIX, CasService

MAX_SERVICE_URL = 2048


def _checked(*, name, service_url, match, slo_url) -> tuple[str, str, str | None]:
    """The name, service URL and single logout URL as stored, or ValidationError naming what is wrong."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 128:
        raise ValidationError("service name must be 1 to 128 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationError("service name must not contain control characters")
    if match not in (MATCH_EXACT, MATCH_PREFIX):
        raise ValidationError(f"match must be {MATCH_EXACT!r} or {MATCH_PREFIX!r}")
    if not isinstance(service_url, str) or not service_url.strip():
        raise ValidationError("a service URL is required")
    if len(service_url) > MAX_SERVICE_URL:
        raise ValidationError(f"a service URL must be at most {MAX_SERVICE_URL} characters")
    service_url = validate_uri(service_url.strip(), "service URL")
    if any(ch in service_url for ch in "\\\r\n\t "):
        raise ValidationError("a service URL must not contain spaces, control characters or backslashes")
    parts = urlsplit(service_url)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ValidationError(f"service URL {service_url!r} has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise ValidationError("a service URL must not contain user information")
    if match == MATCH_PREFIX:
        if parts.query:
            raise ValidationError("a prefix pattern must not contain a query")
        if not parts.path.endswith("/"):
            # "https://a.gov.cn/app" would also match "https://a.gov.cn/application": patterns end at a "/".
            service_url += "/"
    if slo_url is not None and not isinstance(slo_url, str):
        raise ValidationError("the single logout URL must be a string")
    slo_url = (slo_url or "").strip() or None
    if slo_url:
        if len(slo_url) > MAX_SERVICE_URL:
            raise ValidationError(f"a single logout URL must be at most {MAX_SERVICE_URL} characters")
        slo_url = validate_uri(slo_url, "single logout URL")
    return name, service_url, slo_url


def register_service(*, name: str, service_url: str, match: str = MATCH_EXACT, single_logout: bool = True,
                     slo_url: str | None = None, release_id_number: bool = False,
                     disabled: bool = False) -> CasService:
    name, service_url, slo_url = _checked(name=name, service_url=service_url, match=match, slo_url=slo_url)
    service = CasService(name=name, service_url=service_url, match=match, single_logout=bool(single_logout),
                         slo_url=slo_url, release_id_number=bool(release_id_number), disabled=bool(disabled))
    db.session.add(service)
    db.session.commit()
    return service


EDITABLE = ("name", "service_url", "match", "single_logout", "slo_url", "release_id_number", "disabled")


def update_service(service: CasService, **changes) -> CasService:
    """Change some settings of a service, checked like a registration; nothing changes on an error."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"unknown CAS service setting(s): {', '.join(unknown)}")
    merged = {name: changes.get(name, getattr(service, name)) for name in EDITABLE}
    name, service_url, slo_url = _checked(name=merged["name"], service_url=merged["service_url"],
                                          match=merged["match"], slo_url=merged["slo_url"])
    service.name, service.service_url, service.match, service.slo_url = name, service_url, merged["match"], slo_url
    service.single_logout = bool(merged["single_logout"])
    service.release_id_number = bool(merged["release_id_number"])
    service.disabled = bool(merged["disabled"])
    db.session.commit()
    return service


def service_by_id(service_id: int) -> CasService | None:
    """A registered service, enabled or not (for administration; logins use ``get_service``)."""
    return db.session.get(CasService, service_id)


def set_service_disabled(service_id: int, disabled: bool) -> CasService:
    service = service_by_id(service_id)
    if service is None:
        raise NotFound(f"no CAS service {service_id}")
    service.disabled = disabled
    db.session.commit()
    return service


def delete_service(service_id: int) -> None:
    """Forget a service: its tickets no longer validate and it gets no single logout requests."""
    service = service_by_id(service_id)
    if service is None:
        raise NotFound(f"no CAS service {service_id}")
    db.session.delete(service)
    db.session.commit()


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
    return set_service_disabled(service_id, True)


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
