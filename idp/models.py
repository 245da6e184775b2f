"""Imports every model module so that the metadata (and Alembic) sees all tables."""
from .audit.models import AuditCheckpoint, AuditEvent  # noqa: F401
from .clients.models import Client  # noqa: F401
from .identity.authorisations import EnterpriseAuthorisation  # noqa: F401
from .identity.models import Entity, Person, Representation  # noqa: F401
from .identity.passkeys import Passkey  # noqa: F401
from .identity.second_factors import RecoveryCode, SecondFactor  # noqa: F401
from .jobs.models import JobLease  # noqa: F401
from .keys.models import SigningKey  # noqa: F401
from .pki.crl_copies import CrlCopy  # noqa: F401
from .protocols.cas.models import CasService  # noqa: F401
from .protocols.saml.models import SamlServiceProvider, SamlSigningKey  # noqa: F401
from .protocols.oidc.models import AuthorizationCode, Consent, Token  # noqa: F401
from .protocols.oidc.registration_tokens import RegistrationToken  # noqa: F401
from .sessions.delivery_models import LogoutDelivery  # noqa: F401
from .storage.sql import EphemeralMember, EphemeralRecord  # noqa: F401
