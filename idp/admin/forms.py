"""Console forms (Flask-WTF: CSRF-protected); they produce the same metadata the API accepts."""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as N_
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..clients.metadata import REGISTRABLE_SCOPES, SUPPORTED_GRANT_TYPES, SUPPORTED_ID_TOKEN_ALGS
from ..keys.service import SUPPORTED_ALGS
from ..http.request_guard import RequestRejected, loads_bounded
from .metadata import MetadataError


def _choices(*pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _same(values) -> list[SelectChoice]:
    return _choices(*((value, value) for value in values))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ClientForm(FlaskForm):
    name = StringField(N_("Name"), validators=[DataRequired(), Length(max=128)])
    redirect_uris = TextAreaField(N_("Redirect URIs (one per line)"))
    post_logout_redirect_uris = TextAreaField(N_("Post-logout redirect URIs (one per line)"))
    backchannel_logout_uri = StringField(N_("Back-channel logout URI"), validators=[Optional()])
    scopes = MultiCheckboxField(N_("Scopes"), choices=_same(REGISTRABLE_SCOPES),
                                default=["openid", "profile"])
    client_type = RadioField(N_("Client type"), default="confidential",
                             choices=_choices(("confidential", N_("Confidential (a server; has a secret or a key)")),
                                              ("public", N_("Public (an app in the browser or on a phone; PKCE)"))))
    auth_method = SelectField(N_("Client authentication at the token endpoint"), default="",
                              choices=_choices(("", N_("Default")))
                              + _same(("client_secret_basic", "client_secret_post", "private_key_jwt")))
    grant_types = MultiCheckboxField(N_("Grant types (none ticked: derived from the redirect URIs)"),
                                     # the URN's last part names RFC 8628's grant type (device_code)
                                     choices=_choices(*((g, g.rsplit(":", 1)[-1]) for g in SUPPORTED_GRANT_TYPES)))
    jwks = TextAreaField(N_("Public keys (JWKS JSON, for private_key_jwt)"))
    id_token_alg = SelectField(N_("ID token signature"), default="RS256",
                               choices=_same(SUPPORTED_ID_TOKEN_ALGS))
    third_party = BooleanField(N_("Third-party application (ask the person's consent)"))
    sector_identifier = StringField(N_("Sector identifier (a host name; gives pairwise subjects)"),
                                    validators=[Optional(), Length(max=255)])

    def to_metadata(self) -> dict:
        """The form as API metadata (checked by ``metadata.parse`` afterwards)."""
        public = self.client_type.data == "public"
        method = self.auth_method.data or ("none" if public else None)
        if public and method != "none":
            raise MetadataError("invalid_client_metadata",
                                "a public client has no secret or key: leave the authentication method at Default")
        jwks = None
        if self.jwks.data and self.jwks.data.strip():
            try:
                jwks = loads_bounded(self.jwks.data)
            except (ValueError, RequestRejected):
                raise MetadataError("invalid_client_metadata", "the public keys are not valid JSON") from None
        meta = {
            "client_name": self.name.data or "",
            "redirect_uris": _lines(self.redirect_uris.data),
            "post_logout_redirect_uris": _lines(self.post_logout_redirect_uris.data),
            "backchannel_logout_uri": (self.backchannel_logout_uri.data or "").strip() or None,
            "scope": " ".join(self.scopes.data or []),
            "grant_types": list(self.grant_types.data or []) or None,
            "jwks": jwks,
            "id_token_signed_response_alg": self.id_token_alg.data,
            "sector_identifier": (self.sector_identifier.data or "").strip() or None,
            "first_party": not self.third_party.data,
        }
        if method:
            meta["token_endpoint_auth_method"] = method
        return meta

    def fill_from(self, client) -> None:
        self.name.data = client.name
        self.redirect_uris.data = "\n".join(client.redirect_uris or [])
        self.post_logout_redirect_uris.data = "\n".join(client.post_logout_redirect_uris or [])
        self.backchannel_logout_uri.data = client.backchannel_logout_uri or ""
        self.scopes.data = client.scope.split()
        self.client_type.data = "public" if client.is_public else "confidential"
        self.auth_method.data = "" if client.is_public else client.token_endpoint_auth_method
        self.grant_types.data = list(client.grant_types or [])
        self.jwks.data = json.dumps(client.jwks, indent=2) if client.jwks else ""
        self.id_token_alg.data = client.id_token_signed_response_alg
        self.third_party.data = not client.first_party
        self.sector_identifier.data = client.sector_identifier or ""


class RotateKeysForm(FlaskForm):
    alg = SelectField(N_("Algorithm"), default="", choices=_choices(("", N_("All algorithms"))) + _same(SUPPORTED_ALGS))


class CasServiceForm(FlaskForm):
    name = StringField(N_("Name"), validators=[DataRequired(), Length(max=128)])
    service_url = StringField(N_("Service URL"), validators=[DataRequired(), Length(max=2048)])
    match = RadioField(N_("Matching"), default="exact",
                       choices=_choices(("exact", N_("Exactly this URL")),
                                        ("prefix", N_("Every URL under this one (prefix pattern)"))))
    single_logout = BooleanField(N_("Send single logout requests when a session ends"), default=True)
    slo_url = StringField(N_("Single logout URL (empty: the service URL of the ticket)"),
                          validators=[Optional(), Length(max=2048)])
    release_id_number = BooleanField(N_("Release the ID number"))
    disabled = BooleanField(N_("Disabled"))

    def to_settings(self, *, new: bool) -> dict:
        """The form as CAS service settings (checked by the CAS service layer afterwards); the same for a
        new service (``new``) and a change."""
        return {"name": self.name.data or "", "service_url": (self.service_url.data or "").strip(),
                "match": self.match.data, "single_logout": bool(self.single_logout.data),
                "slo_url": (self.slo_url.data or "").strip() or None,
                "release_id_number": bool(self.release_id_number.data), "disabled": bool(self.disabled.data)}

    def fill_from(self, service) -> None:
        self.name.data = service.name
        self.service_url.data = service.service_url
        self.match.data = service.match
        self.single_logout.data = service.single_logout
        self.slo_url.data = service.slo_url or ""
        self.release_id_number.data = service.release_id_number
        self.disabled.data = service.disabled


SAML_ATTRIBUTE_LABELS = (("name", N_("Name")), ("email", N_("Email")), ("phone", N_("Phone")),
                         ("id_number", N_("ID number")), ("entity", N_("Enterprise acted for")))


class SamlProviderForm(FlaskForm):
    """A SAML service provider: its metadata (pasted, or fetched from a URL) when registering; then its
    name, what it may receive and its switches."""
    metadata_xml = TextAreaField(N_("Metadata XML"), validators=[Optional(), Length(max=512 * 1024)])
    metadata_url = StringField(N_("or the URL of its metadata"), validators=[Optional(), Length(max=2048)])
    name = StringField(N_("Name (empty: the metadata's display name)"), validators=[Optional(), Length(max=128)])
    attributes = MultiCheckboxField(N_("Attributes it may receive"), default=["name"],
                                    choices=_choices(*SAML_ATTRIBUTE_LABELS), validate_choice=False)
    require_signed_requests = BooleanField(N_("Require signed authentication requests"))
    single_logout = BooleanField(N_("Send single logout requests when a session ends"), default=True)
    encrypt_assertions = BooleanField(N_("Encrypt assertions (with the encryption key in its metadata)"))
    idp_initiated = BooleanField(N_("Allow login started at this server (IdP-initiated)"))
    disabled = BooleanField(N_("Disabled"))

    def to_settings(self, *, new: bool) -> dict:
        """The form as service provider settings (checked by the SAML registry afterwards)."""
        settings = {"name": (self.name.data or "").strip() or (None if new else ""),
                    "attributes": list(self.attributes.data or []),
                    "require_signed_requests": bool(self.require_signed_requests.data),
                    "single_logout": bool(self.single_logout.data), "disabled": bool(self.disabled.data),
                    "encrypt_assertions": bool(self.encrypt_assertions.data),
                    "idp_initiated": bool(self.idp_initiated.data)}
        if new:
            xml, url = (self.metadata_xml.data or "").strip(), (self.metadata_url.data or "").strip()
            settings |= {"metadata_xml": xml} if xml or not url else {"metadata_url": url}
        return settings

    def fill_from(self, provider) -> None:
        self.name.data = provider.name
        self.attributes.data = list(provider.attributes or [])
        self.require_signed_requests.data = provider.require_signed_requests
        self.single_logout.data = provider.single_logout
        self.encrypt_assertions.data = provider.encrypt_assertions
        self.idp_initiated.data = provider.idp_initiated
        self.disabled.data = provider.disabled
