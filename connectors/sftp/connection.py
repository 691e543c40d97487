"""Connecting to an agency drop: the client key, the pinned host key, and nothing on trust."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import paramiko

from connectors.registry import SourceConfig
from connectors.sftp.outcomes import HostKeyRejected, SftpConfigError, SftpUnavailable

# --------------------------------------------------------------------------- connection


_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
_KEYSCAN_FIX = "fix: pin the server's own host key, e.g. `ssh-keyscan -p <port> <host> > known_hosts`"


def _known_hosts_text(source: SourceConfig) -> tuple[str, str]:
    """(the known_hosts text, where it came from: a path or the credential's name)."""
    if "known_hosts" in source.credentials:
        value, where = source.secret("known_hosts"), "credential known_hosts"
    elif source.option("known_hosts"):
        value, where = str(source.option("known_hosts")), "option known_hosts"
    else:
        raise HostKeyRejected(f"source {source.name!r} pins no host key: set credential or option known_hosts")
    if "\n" not in value.strip() and not value.strip().startswith(("[", "@", *_KEY_TYPES)) and " " not in value.strip():
        path = Path(value).expanduser()
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise SftpConfigError(f"known_hosts file {path} does not exist; {_KEYSCAN_FIX}") from None
        except (PermissionError, IsADirectoryError, UnicodeDecodeError) as exc:
            raise SftpConfigError(f"known_hosts file {path} cannot be read ({type(exc).__name__}); {_KEYSCAN_FIX}") from None
    return value, where


def pinned_keys(text: str, where: str) -> list[tuple[list[str], paramiko.PKey]]:
    """(host names, key) of each usable known_hosts line; a line we cannot honour is an error naming it."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@cert-authority"):
            raise SftpConfigError(
                f"{where} line {number}: @cert-authority entries are not supported (host certificates are not "
                f"checked); {_KEYSCAN_FIX}"
            )
        if line.startswith("@revoked"):
            raise SftpConfigError(f"{where} line {number}: @revoked entries are not supported; remove the line")
        if line.startswith(_KEY_TYPES):
            raise SftpConfigError(
                f"{where} line {number} is a public key without a host name (a .pub file given as known_hosts?); "
                f"{_KEYSCAN_FIX}"
            )
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno=number)
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            raise SftpConfigError(f"{where} line {number} is not a known_hosts entry ({exc}); {_KEYSCAN_FIX}") from None
        if entry is None or entry.key is None:
            raise SftpConfigError(f"{where} line {number} is not a known_hosts entry of a supported key type; {_KEYSCAN_FIX}")
        found.append((entry.hostnames, entry.key))
    return found


_PASSPHRASE_FIX = "fix: set credential key_passphrase to a secret reference (e.g. env:SFTP_KEY_PASSPHRASE)"


def _private_key(source: SourceConfig) -> paramiko.PKey:
    """The client key from credential `private_key` (a path or the key text), decrypted with
    `key_passphrase` when given. Every way this goes wrong is one `SftpConfigError` line; neither the
    key nor the passphrase ever appears in it."""
    value = source.secret("private_key")
    passphrase = source.secret("key_passphrase") if "key_passphrase" in source.credentials else None
    if "PRIVATE KEY" in value:
        where, text = "credential private_key (key text)", value
    elif value.strip().startswith(_KEY_TYPES):
        raise SftpConfigError(
            "credential private_key holds a public key (the .pub line); fix: give the private key (the file without .pub)"
        )
    else:
        path = Path(value.strip()).expanduser()
        where = f"private key file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SftpConfigError(f"{where} does not exist; fix: point credential private_key at the key file") from None
        except PermissionError:
            raise SftpConfigError(f"{where} cannot be read by this account; fix: chown it to the account and chmod 600") from None
        except (IsADirectoryError, UnicodeDecodeError) as exc:
            raise SftpConfigError(f"{where} is not a key file ({type(exc).__name__}); fix: point private_key at the key file") from None
        if text.strip().startswith(_KEY_TYPES):
            fix = f"{path.with_suffix('')}" if path.suffix == ".pub" else "the file without .pub"
            raise SftpConfigError(f"{where} is a public key (.pub); fix: give the private key ({fix}) as private_key")
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise SftpConfigError(f"{where} is protected by a passphrase; {_PASSPHRASE_FIX}") from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    if passphrase is not None:
        raise SftpConfigError(f"{where} could not be decrypted with key_passphrase (wrong passphrase?) or is not an "
                              "Ed25519/ECDSA/RSA private key; fix: check the key_passphrase secret")
    raise SftpConfigError(f"{where} is not a usable Ed25519/ECDSA/RSA private key; fix: give an OpenSSH or PEM private key")


def connect(source: SourceConfig) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    """An SFTP session with the host key checked against the pinned entry only."""
    url = urlsplit(source.base_url)
    host, port, user = url.hostname or "127.0.0.1", url.port or 22, url.username or "tourlink"
    pinned = pinned_keys(*_known_hosts_text(source))
    pkey = _private_key(source)
    client = paramiko.SSHClient()
    keys = client.get_host_keys()
    for hostnames, key in pinned:
        for name in hostnames:
            keys.add(name, key.get_name(), key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    where = f"[{host}]:{port}" if port != 22 else host
    timeout = float(source.option("timeout_seconds", 30))
    try:
        client.connect(
            host, port=port, username=user, pkey=pkey, allow_agent=False, look_for_keys=False,
            timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyRejected(
            f"SFTP server {where} presented host key {exc.key.get_name()} {exc.key.fingerprint}, which is NOT the "
            f"pinned key {exc.expected_key.fingerprint}: refusing to connect (possible interception; if the server "
            "key was really rotated, update the pinned known_hosts entry)"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise SftpUnavailable(
            f"SFTP server {where} refused the key of user {user!r}; fix: add its public key to the account's "
            "authorized_keys, or check the user name in base_url"
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise HostKeyRejected(
                f"SFTP server {where} is not in the pinned known_hosts entries: refusing to connect"
            ) from None
        raise SftpUnavailable(f"SFTP server {where}: {type(exc).__name__}: {exc}") from None
    except (OSError, EOFError) as exc:
        client.close()
        raise SftpUnavailable(f"SFTP server {where} unreachable ({type(exc).__name__})") from None
    return client, client.open_sftp()
