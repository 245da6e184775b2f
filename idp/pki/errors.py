"""Certificate authentication errors, one class per stable error code.

Every refusal carries ``code`` (stable, for logs, metrics and API responses), an English
``message`` and a Chinese ``message_zh`` suitable for showing to the person logging in.
"""
from __future__ import annotations


class CertificateError(Exception):
    code = "certificate_error"
    default_message = "The certificate could not be accepted."
    default_message_zh = "证书无法被接受。"

    def __init__(self, message: str | None = None, *, message_zh: str | None = None,
                 detail: str | None = None) -> None:
        self.message = message or self.default_message
        self.message_zh = message_zh or self.default_message_zh
        self.detail = detail
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class MalformedCertificate(CertificateError):
    code = "malformed"
    default_message = "The certificate or signature data is malformed."
    default_message_zh = "证书或签名数据格式错误。"


class InputTooLarge(CertificateError):
    code = "too_large"
    default_message = "The submitted certificate data is too large."
    default_message_zh = "提交的证书数据过大。"


class UntrustedCertificate(CertificateError):
    code = "untrusted"
    default_message = "The certificate was not issued by a trusted certificate authority."
    default_message_zh = "证书不是由受信任的证书认证机构签发的。"


class CertificateExpired(CertificateError):
    code = "expired"
    default_message = "The certificate has expired."
    default_message_zh = "证书已过期。"


class CertificateNotYetValid(CertificateError):
    code = "not_yet_valid"
    default_message = "The certificate is not yet valid."
    default_message_zh = "证书尚未生效。"


class CertificateRevoked(CertificateError):
    code = "revoked"
    default_message = "The certificate has been revoked."
    default_message_zh = "证书已被吊销。"


class RevocationUnknown(CertificateError):
    code = "revocation_unknown"
    default_message = "The revocation status of the certificate could not be determined."
    default_message_zh = "无法确认证书的吊销状态，请稍后再试。"


class BadKeyUsage(CertificateError):
    code = "bad_key_usage"
    default_message = "The certificate is not allowed to be used for login."
    default_message_zh = "证书的密钥用途不允许用于登录。"


class BadIdCheck(CertificateError):
    code = "bad_id_check"
    default_message = "The identity number in the certificate is not valid."
    default_message_zh = "证书中的证件号码校验不通过。"


class NoIdentity(CertificateError):
    code = "no_identity"
    default_message = "No identity number could be found in the certificate."
    default_message_zh = "未能从证书中识别出身份信息。"


class BadSignature(CertificateError):
    code = "bad_signature"
    default_message = "The signature does not verify."
    default_message_zh = "签名验证失败。"


ERROR_CLASSES: dict[str, type[CertificateError]] = {
    cls.code: cls
    for cls in (MalformedCertificate, InputTooLarge, UntrustedCertificate, CertificateExpired,
                CertificateNotYetValid, CertificateRevoked, RevocationUnknown, BadKeyUsage,
                BadIdCheck, NoIdentity, BadSignature)
}


class ProfileError(ValueError):
    """A trust profile file is invalid; raised at load time, never during a login."""
