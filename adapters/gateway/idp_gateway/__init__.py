"""Forward-auth gateway: answers nginx `auth_request` / Traefik ForwardAuth sub-requests with the
logged-in person's identity in X-Auth-* headers, and runs the OIDC login through idp_rp."""

from .app import create_app
from .config import GatewayConfig, load_config

__all__ = ["GatewayConfig", "create_app", "load_config"]
