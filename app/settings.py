"""The one settings object, read from the environment (names without a prefix)."""

from __future__ import annotations

import secrets
from email import policy
from email.errors import HeaderParseError
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# RFC 7518 §3.2: an HS512 key should be as long as the hash (512 bits).
MIN_SECRET_BYTES = 64


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


# The usual port of each kind of SMTP connection (submission with STARTTLS,
# implicit TLS, plain relay).
_SMTP_PORTS = {SmtpSecurity.NONE: 25, SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465}


def is_one_address(value: str) -> bool:
    """Whether a From header of this value is one well-formed address, no
    group, in ASCII (a server without SMTPUTF8 refuses any other; the name may
    be in any script)."""
    if "\r" in value or "\n" in value:
        return False
    try:
        header = policy.default.header_factory("From", value)
    except (ValueError, IndexError, HeaderParseError):
        return False
    if header.defects or len(header.groups) != 1:
        return False
    (group,) = header.groups
    if group.display_name is not None or len(group.addresses) != 1:
        return False
    (address,) = group.addresses
    return bool(address.domain) and address.addr_spec.isascii()


# A span of time a setting gives: finite, and short enough for PostgreSQL's
# intervals and for timers (a year at most).
Seconds = Annotated[float, Field(gt=0, le=366 * 24 * 3600, allow_inf_nan=False)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = ""
    redis_url: str = ""
    var_dir: Path = Path("var")

    # A secret: never shown in reprs, logs or tracebacks.
    jwt_secret: SecretStr = SecretStr("")
    token_expire_minutes: int = 60
    first_token_expire_minutes: int = 10
    # A refresh token unused this long expires; none outlives the login by more
    # than the absolute limit, and neither does an access token.
    refresh_token_expire_minutes: int = Field(default=1440, gt=0)
    token_absolute_expire_minutes: int = Field(default=10080, gt=0)
    # The original's REST_MANDATORY_{CLIENT,USER}_ID_ON_REFRESH.
    mandatory_client_id_on_refresh: bool = True
    mandatory_user_id_on_refresh: bool = True

    # Where Celery puts messages; tests beside a running service use their own names
    # so that neither side consumes the other's messages.
    queue_prefix: str = ""
    interactive_queue: str = "interactive"
    default_queue: str = "default"
    # Apart from jobs, so that long jobs hold them up in no way: notices and the
    # sweep on one queue; mail on another, so that a slow or hung SMTP server
    # holds up neither a job nor a notice.
    notify_queue: str = "notify"
    mail_queue: str = "mail"
    # Redis keys of live events (instance finished, progress) share this prefix.
    event_prefix: str = "procserv"

    # How long an instance may stay queued after it was sent before the sweeper
    # sends it again, and how often the sweeper looks.
    resend_after_seconds: Seconds = 300.0
    sweep_every_seconds: Seconds = 60.0

    # The service's public root, e.g. https://procserv.example.com; the URLs of
    # outputs are built on it. Empty: from the request's Host header.
    public_url: str = ""

    sync_wait_seconds: Seconds = 60.0
    max_body_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # A file sent for a FileName parameter, decoded; its base64 (4/3 of it) has to
    # fit in the body limit above.
    max_upload_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    # What a process may unpack from an uploaded zip: all its entries together,
    # decompressed, and how many entries it may have.
    max_unzipped_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    max_zip_entries: int = Field(default=1000, gt=0)
    inline_output_limit: int = Field(default=16 * 1024 * 1024, gt=0)
    # A PDF report of more rows fails (naming CSV and XLSX, which stream): WeasyPrint
    # lays the whole document out in memory.
    pdf_row_ceiling: int = Field(default=10_000, gt=0)
    # Above the longest run, so the broker never hands a running job to a second worker.
    visibility_timeout_seconds: int = 6 * 3600

    # Modules (``module:attribute``) of processes to serve beside the installed
    # entry points, comma-separated: for processes under development, and tests.
    extra_processes: str = ""

    # Where job e-mails go out. Empty SMTP_HOST: no mail is sent, and each e-mail
    # notification is recorded as skipped. SMTP_PORT empty: the usual port of
    # SMTP_SECURITY.
    smtp_host: str = ""
    smtp_port: int | None = Field(default=None, gt=0, lt=65536)
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    # Connecting, the greeting, STARTTLS and the login: a server that does not
    # answer is given up on soon.
    smtp_timeout_seconds: Seconds = 30.0
    # Handing over one mail, up to the server's answer to its end: as long as
    # RFC 5321 (4.5.3.2) advises waiting for it, since a server may be checking
    # a large mail, and giving up early sends it again.
    smtp_send_timeout_seconds: Seconds = 600.0
    mail_from: str = "procserv <procserv@localhost>"
    # Outputs are attached while their total stays within this; the rest are links.
    mail_attach_limit: int = Field(default=10 * 1024 * 1024, ge=0)
    # A delivery that fails with a temporary error is tried again after about
    # base * 2**tries seconds (at most the max, with jitter), this many times;
    # after that the sweeper sends it again every RESEND_AFTER_SECONDS + the max,
    # until it is NOTIFY_GIVE_UP_SECONDS old (5 days, as mail servers keep a
    # message in their queue) and fails for good.
    notify_max_retries: int = Field(default=8, ge=0)
    notify_retry_base_seconds: Seconds = 30.0
    notify_retry_max_seconds: Seconds = 900.0
    notify_give_up_seconds: Seconds = 5 * 24 * 3600.0

    seed_demo: bool | None = None
    demo_passwords: dict[str, str] = {}

    log_json: bool | None = None
    log_level: str = "INFO"

    @field_validator("mail_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        """A From that no mail could carry would fail every delivery."""
        if not is_one_address(value):
            raise ValueError(
                f"MAIL_FROM must be one address, e.g. 'procserv <jobs@example.com>',"
                f" not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _mail_settings_agree(self) -> Settings:
        """Settings of mail that contradict each other, or that smtplib cannot
        use (it sends a login in ASCII only)."""
        if self.notify_retry_base_seconds > self.notify_retry_max_seconds:
            raise ValueError(
                "NOTIFY_RETRY_BASE_SECONDS must not exceed NOTIFY_RETRY_MAX_SECONDS"
            )
        queues = [
            self.interactive_queue,
            self.default_queue,
            self.notify_queue,
            self.mail_queue,
        ]
        if len(set(queues)) != len(queues):
            raise ValueError(
                "INTERACTIVE_QUEUE, DEFAULT_QUEUE, NOTIFY_QUEUE and MAIL_QUEUE must "
                "differ: each keeps its work apart from the others'"
            )
        login = self.smtp_user + self.smtp_password.get_secret_value()
        if not login.isascii():
            raise ValueError("SMTP_USER and SMTP_PASSWORD must be ASCII (smtplib)")
        if self.smtp_password.get_secret_value() and not self.smtp_user:
            raise ValueError("SMTP_PASSWORD is set but SMTP_USER is not")
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        secret = self.jwt_secret.get_secret_value()
        if self.environment is Environment.PRODUCTION and not secret:
            raise ValueError("JWT_SECRET must be set when ENVIRONMENT=production")
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long (HS512)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def should_seed_demo(self) -> bool:
        if self.seed_demo is None:
            return not self.is_production
        return self.seed_demo

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or _SMTP_PORTS[self.smtp_security]

    def queue(self, name: str) -> str:
        return self.queue_prefix + name

    def signing_secret(self) -> str:
        """The JWT secret; in development one is made once and kept under var/."""
        if self.jwt_secret.get_secret_value():
            return self.jwt_secret.get_secret_value()
        path = self.var_dir / "jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.jwt_secret = SecretStr(path.read_text().strip())
        return self.jwt_secret.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
