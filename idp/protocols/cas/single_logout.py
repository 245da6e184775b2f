"""CAS single logout: when an SSO session ends, each CAS site that validated a ticket in it receives a
SAML LogoutRequest naming that ticket, POSTed in the background by the back-channel notifier."""
from __future__ import annotations

from .responses import saml_logout_request
from .services import get_service
from .tickets import validated_tickets


def cas_logout_listener(core):
    def notify(ended) -> None:
        for entry in validated_tickets(core, ended.key):
            service = get_service(entry["service_id"])
            if service is None or not service.single_logout:
                continue
            core.notifier.send(service.session_key, service.slo_url or entry["service_url"],
                               saml_logout_request(entry["ticket"]), field="logoutRequest",
                               accept_redirect=True)
    return notify
