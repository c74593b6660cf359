"""Page access tokens at rest: Fernet encryption with TOKEN_ENCRYPTION_KEY."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class TokenCipher:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(
                "TOKEN_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(blob)).decode()
        except InvalidToken:
            raise ValueError(
                "a stored page token cannot be decrypted with TOKEN_ENCRYPTION_KEY; "
                "was the key changed? re-add the page's token"
            ) from None


def valid_fernet_key(key: str) -> str:
    TokenCipher(key)
    return key
