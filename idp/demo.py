"""The demo realm that `idp demo` seeds before running the server with two demo department portals.

The realm: the demo citizen (legal representative of the demo company), a demo administrator for the
admin console, and the two portals, registered as clients with their current URLs. The portals sign
in silently (prompt=none) on a first visit, so a person logged in at one is shown at once by the other.
"""
from __future__ import annotations

import click

DEMO_CITIZEN = {"id_number": "11010519491231002X", "name": "张三", "password": "zhangsan-2026",
                "phone": "13800138000", "email": "zhangsan@example.gov.cn"}
DEMO_ADMIN = {"id_number": "110101198001010010", "name": "演示管理员", "password": "admin-demo-2026"}
DEMO_ENTITY = {"uscc": "91350100M000100Y43", "name": "示范科技有限公司"}
DEMO_PORTALS = (
    {"client_id": "demo-portal-a", "name": "社保服务门户 Social Security Portal", "port": 9001},
    {"client_id": "demo-portal-b", "name": "公积金服务门户 Housing Fund Portal", "port": 9002},
)

# A public device client for scripts/device_kiosk.py (the device authorization grant, RFC 8628).
DEMO_KIOSK = {"client_id": "demo-kiosk", "name": "政务服务大厅自助机 Service Hall Kiosk"}


def portal_secret(secret_key: str, client_id: str) -> str:
    import hashlib
    return hashlib.sha256(f"demo portal\x00{client_id}\x00{secret_key}".encode()).hexdigest()


def parse_portal_ports(value: str) -> tuple[int, int]:
    """Two distinct TCP ports, "9001,9002"."""
    try:
        ports = tuple(int(item) for item in value.split(","))
    except ValueError:
        raise click.BadParameter("expected two port numbers, e.g. 9001,9002") from None
    if len(ports) != 2 or ports[0] == ports[1] or not all(0 < port < 65536 for port in ports):
        raise click.BadParameter("expected two different port numbers, e.g. 9001,9002")
    return ports  # type: ignore[return-value]


def seed(app, host: str = "localhost", ports: tuple[int, int] | None = None) -> list[dict]:
    """Idempotently create the demo citizen, admin, entity and portal clients; returns portal settings.

    A portal already registered gets its URLs updated when it now runs on another host or port."""
    from .clients.models import Client
    from .clients.service import register_client
    from .extensions import db
    from .identity.service import create_entity, create_person, find_entity, find_person_by_id_number, \
        link_representative

    settings = app.extensions["idp"].settings
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        if find_person_by_id_number(DEMO_CITIZEN["id_number"]) is None:
            create_person(**DEMO_CITIZEN)
        if find_person_by_id_number(DEMO_ADMIN["id_number"]) is None:
            create_person(**DEMO_ADMIN, is_admin=True)
        if find_entity(DEMO_ENTITY["uscc"]) is None:
            create_entity(**DEMO_ENTITY)
            link_representative(uscc=DEMO_ENTITY["uscc"], id_number=DEMO_CITIZEN["id_number"],
                                role="legal_representative")
        portals = []
        for index, portal in enumerate(DEMO_PORTALS):
            port = ports[index] if ports else portal["port"]
            base = f"http://{host}:{port}"
            secret = portal_secret(settings.secret_key, portal["client_id"])
            urls = {"redirect_uris": [base + "/oidc/callback"], "post_logout_redirect_uris": [base + "/"],
                    "backchannel_logout_uri": base + "/oidc/backchannel-logout"}
            client = db.session.scalar(db.select(Client).where(Client.client_id == portal["client_id"]))
            if client is None:
                register_client(name=portal["name"], client_id=portal["client_id"], client_secret=secret,
                                scopes=["openid", "profile", "phone", "email", "idcard", "entity"], **urls)
            elif any(getattr(client, name) != value for name, value in urls.items()):
                for name, value in urls.items():
                    setattr(client, name, value)
                db.session.commit()
            portals.append({**portal, "port": port, "base_url": base, "client_secret": secret})
        if db.session.scalar(db.select(Client).where(Client.client_id == DEMO_KIOSK["client_id"])) is None:
            from .clients.metadata import DEVICE_CODE
            register_client(name=DEMO_KIOSK["name"], client_id=DEMO_KIOSK["client_id"], public=True,
                            redirect_uris=[], scopes=["openid", "profile"], grant_types=[DEVICE_CODE, "refresh_token"])
        return portals
