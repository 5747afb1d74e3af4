"""MQTT credentials (password file, systemd credentials) and the TLS context, with hints for
connection errors."""

from __future__ import annotations

import ssl
from pathlib import Path

from driverwatch.config.mqtt import MqttConfig
from driverwatch.errors import ConfigError
from driverwatch.paths import credential_path


def resolve_credential(p: Path) -> Path:
    """Relative paths are looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=) first."""
    return credential_path(p) or p


def read_password(cfg: MqttConfig) -> str | None:
    if cfg.password_file is not None:
        path = resolve_credential(cfg.password_file)
    else:
        path = credential_path(cfg.password_credential)
        if path is None:
            return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"mqtt.password_file: cannot read {path}: {err.strerror or err}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"mqtt.password_file: {path} is empty")
    return lines[0]


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    t = cfg.tls
    ca = resolve_credential(t.ca_file) if t.ca_file else None
    try:
        ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"mqtt.tls.ca_file: cannot load CA file {ca}: {err}") from None
    if t.certfile:
        cert, key = resolve_credential(t.certfile), resolve_credential(t.keyfile)
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"mqtt.tls.certfile/keyfile: cannot load {cert} / {key}: {err}") from None
    if t.insecure:
        ctx.check_hostname = False
    return ctx


def connect_hint(err: BaseException) -> str:
    s = str(err)
    if isinstance(err, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in s:
        return " (the broker's certificate is not signed by mqtt.tls.ca_file, or the host name does not match)"
    if isinstance(err, ssl.SSLError):
        return " (TLS handshake failed: check mqtt.tls and that the port speaks TLS)"
    if isinstance(err, ConnectionRefusedError):
        return " (nothing listens there: broker down, or wrong mqtt.host / mqtt.port)"
    return ""
