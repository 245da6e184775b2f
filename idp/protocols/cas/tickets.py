"""Service tickets: random, stored only as a hash, single-use, bound to one service URL, short-lived.

Validation consumes the ticket whatever the outcome (CAS 3.0 section 3.1.1). A validated ticket is
remembered in the SSO session's single-logout index: it is spent by then, and the site identifies its
own session by it when the identity server later sends the logout request.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass

from ...extensions import db
from ...identity.authorisations import ActingContext, acting_context
from ...identity.models import Person
from ...sessions.sso import SsoSession
from ...storage.token_hash import token_hash
from .errors import INVALID_REQUEST, INVALID_SERVICE, INVALID_TICKET, CasError
from .models import CasService
from .services import get_service

TICKET = "cas_st"
SLO_INDEX = "cas_slo"
SLO_TICKET = "cas_slo_ticket"
PREFIX = "ST-"
MAX_TICKET_LENGTH = 256
_TICKET_CHARS = re.compile(r"[A-Za-z0-9-]+")
TICKET_TTL = 10  # seconds; a site validates the ticket right after the browser brings it back


@dataclass
class ValidatedTicket:
    ticket: str
    service: CasService
    session: SsoSession
    person: Person
    new_login: bool
    acting: ActingContext | None = None  # the enterprise the person acted for when the ticket was issued


def issue(core, session: SsoSession, service: CasService, service_url: str, *, new_login: bool) -> str:
    ticket = PREFIX + secrets.token_hex(24)  # CAS 3.0 section 3.7: letters, digits and "-" only
    # only an enterprise context the person holds at this service now goes with the ticket
    acting = acting_context(session.person_id, session.entity_id, service.session_key) if session.entity_id else None
    core.store.put(TICKET, token_hash(ticket), {"service_id": service.id, "service_url": service_url,
                                           "session_key": session.key, "new_login": new_login,
                                           "entity_id": acting.entity.id if acting else None,
                                           "authorisation_id": acting.authorisation_id if acting else None,
                                           "issued_at": time.time()}, TICKET_TTL)
    core.sessions.add_client(session, service.session_key)
    return ticket


def validate(core, ticket: str | None, service_url: str | None, *, renew: bool = False) -> ValidatedTicket:
    if not ticket or not service_url:
        raise CasError(INVALID_REQUEST, "both 'ticket' and 'service' parameters are required")
    if not ticket.startswith(PREFIX) or len(ticket) > MAX_TICKET_LENGTH or not _TICKET_CHARS.fullmatch(ticket):
        raise CasError(INVALID_TICKET, "not a service ticket issued by this server")
    record = core.store.consume(TICKET, token_hash(ticket))
    if record is None:
        raise CasError(INVALID_TICKET, f"ticket {ticket[:12]}... not recognized (unknown, expired or already used)")
    if record["service_url"] != service_url:
        raise CasError(INVALID_SERVICE, "the ticket was issued for another service; it is now invalid")
    service = get_service(record["service_id"])
    if service is None:
        raise CasError(INVALID_SERVICE, "the service is no longer registered")
    if renew and not record["new_login"]:
        raise CasError(INVALID_TICKET, "renew was requested but the ticket comes from single sign-on")
    session = core.sessions.get(record["session_key"])
    if session is None:
        raise CasError(INVALID_TICKET, "the single sign-on session has ended")
    person = db.session.get(Person, session.person_id)
    if person is None or person.disabled:
        raise CasError(INVALID_TICKET, "the account is disabled")
    acting = _acting(person, service, record)
    remaining = max(1, session.expires_at - int(time.time()))
    # the index holds the ticket (short, as index members must be); the service URL, of any length,
    # waits beside it in a record of its own
    core.store.put(SLO_TICKET, token_hash(ticket), {"service_id": service.id, "service_url": service_url}, remaining)
    core.store.index_add(SLO_INDEX, session.key, ticket, remaining)
    return ValidatedTicket(ticket=ticket, service=service, session=session, person=person,
                           new_login=bool(record["new_login"]), acting=acting)


def _acting(person: Person, service: CasService, record: dict) -> ActingContext | None:
    """The enterprise context the ticket was issued in, if the person still holds it at this service now,
    under the same authorisation; a ticket whose context was revoked or has expired since is refused
    (the service would otherwise take the person's own login for the enterprise's)."""
    entity_id = record.get("entity_id")
    if entity_id is None:
        return None
    acting = acting_context(person.id, entity_id, service.session_key)
    if acting is None or acting.authorisation_id != record.get("authorisation_id"):
        raise CasError(INVALID_TICKET, "the person no longer acts for the enterprise this ticket was issued for")
    return acting


def validated_tickets(core, session_key: str) -> list[dict]:
    """The tickets sites validated in a session (service_id, service_url, ticket), forgotten as they
    are read (for single logout)."""
    members = core.store.index_members(SLO_INDEX, session_key)
    core.store.index_clear(SLO_INDEX, session_key)
    found = []
    for member in members:
        if member.startswith("{"):  # written by an earlier version: the whole entry in the member
            found.append(json.loads(member))
            continue
        record = core.store.consume(SLO_TICKET, token_hash(member))
        if record is not None:
            found.append({"service_id": record["service_id"], "service_url": record["service_url"],
                          "ticket": member})
    return sorted(found, key=lambda entry: (entry["service_id"], entry["service_url"], entry["ticket"]))
