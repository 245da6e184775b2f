"""The names of the attributes sent to service providers (SAML attribute name format "uri"): the
directory OIDs SPs already know for name, e-mail and telephone, URNs of this server for the rest."""
from __future__ import annotations

from saml2.attribute_converter import AttributeConverter
from saml2.saml import NAME_FORMAT_URI

NAMES = {
    "name": "urn:oid:2.16.840.1.113730.3.1.241",      # displayName
    "email": "urn:oid:0.9.2342.19200300.100.1.3",     # mail
    "phone": "urn:oid:2.5.4.20",                      # telephoneNumber
    "id_number": "urn:idp:attribute:id_number",
    "id_type": "urn:idp:attribute:id_type",
    "acr": "urn:idp:attribute:acr",
    # the enterprise the person acts for (released to SPs allowed "entity"; the words of the CAS attributes)
    "entity_uscc": "urn:idp:attribute:entity_uscc",
    "entity_name": "urn:idp:attribute:entity_name",
    "entity_role": "urn:idp:attribute:entity_role",
    "entity_roles": "urn:idp:attribute:entity_roles",
    "authorisation_id": "urn:idp:attribute:authorisation_id",
}
MAP = {"identifier": NAME_FORMAT_URI, "to": dict(NAMES), "fro": {uri: local for local, uri in NAMES.items()}}


def converters() -> list[AttributeConverter]:
    converter = AttributeConverter()
    converter.from_dict(MAP)
    return [converter]
