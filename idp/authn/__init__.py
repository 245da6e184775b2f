"""Login methods. Each returns the same neutral AuthResult."""
from .result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_PASSWORD, AuthResult, acr_level

__all__ = ["AuthResult", "ACR_PASSWORD", "ACR_CERTIFICATE", "ACR_HARDWARE_CERTIFICATE", "acr_level"]
