"""Checks of an incoming SAML request's XML that pysaml2 leaves to the caller, made on the decoded
document before its content is used:

- signature wrapping: a signature must sign the message itself (a ``ds:Signature`` that is a direct
  child of the root, whose one Reference is ``#`` + the root's ID), no other element may carry that ID,
  and there is at most one signature;
- comments and processing instructions are refused anywhere (exclusive canonicalisation drops comments,
  so one inserted into a signed NameID or Issuer keeps the signature valid while readers may see a
  different value);
- the hash functions of the signature method and the digests (and a Redirect binding's SigAlg) must be
  in the allowed list (``IDP_SAML_ALLOWED_HASHES``; SHA-1 is not allowed by default).

The document is parsed with defusedxml (no entities, no DTDs), as pysaml2 parses it afterwards."""
from __future__ import annotations

import base64
import binascii
import zlib
from xml.etree.ElementTree import Comment, ProcessingInstruction, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from flask_babel import lazy_gettext as N_
from saml2 import BINDING_HTTP_REDIRECT

DS = "{http://www.w3.org/2000/09/xmldsig#}"
# The hash function in each signature or digest algorithm URI pysaml2 and xmlsec1 know.
_HASH_OF = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": "sha1", "http://www.w3.org/2000/09/xmldsig#dsa-sha1": "sha1",
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224": "sha224",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha224": "sha224",
    "http://www.w3.org/2001/04/xmldsig-more#sha224": "sha224",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": "sha256",
    "http://www.w3.org/2009/xmldsig11#dsa-sha256": "sha256",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": "sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": "sha384",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": "sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": "sha512",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}


class XmlRefused(Exception):
    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


def decoded(message: str, binding: str) -> bytes:
    try:
        raw = base64.b64decode(message, validate=False)
        return zlib.decompress(raw, -15) if binding == BINDING_HTTP_REDIRECT else raw
    except (binascii.Error, zlib.error, ValueError):
        raise XmlRefused(N_("the request cannot be read")) from None


def _tree(xml: bytes):
    builder = TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    try:
        parser.feed(xml)
        return parser.close()
    except DefusedXmlException:
        raise XmlRefused(N_("the request contains XML entities or a DTD, which are refused")) from None
    except Exception:  # noqa: BLE001 - not XML (syntax, encoding)
        raise XmlRefused(N_("the request cannot be read")) from None


def check(xml: bytes, *, sigalg: str | None, allowed_hashes) -> None:
    root = _tree(xml)
    if any(node.tag in (Comment, ProcessingInstruction) for node in root.iter()):
        raise XmlRefused(N_("the request contains XML comments or processing instructions, which are refused"))
    root_id = root.get("ID")
    if root_id and sum(1 for node in root.iter() if node.get("ID") == root_id) > 1:
        raise XmlRefused(N_("the request's signature does not sign the request itself"))
    signatures = list(root.iter(DS + "Signature"))
    if len(signatures) > 1 or (signatures and not _signs_root(root, signatures[0], root_id)):
        raise XmlRefused(N_("the request's signature does not sign the request itself"))
    algorithms = [sigalg] if sigalg else []
    for signature in signatures:
        algorithms += [m.get("Algorithm") for m in signature.iter(DS + "SignatureMethod")]
        algorithms += [m.get("Algorithm") for m in signature.iter(DS + "DigestMethod")]
    if any(_HASH_OF.get(alg or "") not in allowed_hashes for alg in algorithms):
        raise XmlRefused(N_("the request is signed with an algorithm that is not allowed (SHA-256 or stronger is "
                            "needed)"))


def _signs_root(root, signature, root_id) -> bool:
    references = list(signature.iter(DS + "Reference"))
    return (signature in list(root) and bool(root_id) and len(references) == 1
            and references[0].get("URI") == "#" + root_id)
