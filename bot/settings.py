"""The settings tree: every value comes from the environment and has a safe default.

Loaded once by `load_settings()` and passed down; nothing else reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.hours import WorkingHours
from bot.languages import FALLBACK_LANGUAGE, LANGUAGES, Language

REPO_ROOT = Path(__file__).resolve().parent.parent
TWILIO_WEBHOOK_TIMEOUT_SECONDS = 15.0  # Twilio's default read timeout for a webhook (the URL's #rt= can change it)


class _Section(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class DatabaseSettings(_Section):
    """DATABASE_URL: SQLite file under var/ by default, PostgreSQL when it says so."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_")
    url: SecretStr = SecretStr(f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'pana.db'}")  # may hold a password
    echo: bool = Field(default=False, description="log every statement; refused unless PANA_ENVIRONMENT=development")
    # A turn checks out ~10 sessions one after another and the outbox and sweeps take their own: with
    # SQLAlchemy's default of 5 kept connections, 8 people at once made and dropped ~5 connections a second.
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections each process keeps open")
    pool_overflow: int = Field(default=10, ge=0, description="more connections a process may open for a burst")
    # Off: every commit waits for the disk. On: only those a stored, unanswered message cannot re-derive
    # (bot/storage/commits.py says which and what a database server crash may then cost).
    relaxed_commits: bool = Field(default=True, description="commits the recovery sweep can redo skip the disk sync")
    # Relaxed writes have their own pool, its connections relaxed for life (bot/storage/commits.py): one short
    # transaction per relaxed step of a turn. Unused (not opened) when relaxed commits are off.
    relaxed_pool_size: int = Field(default=4, ge=1, description="relaxed-commit connections each process keeps open")
    relaxed_pool_overflow: int = Field(default=4, ge=0, description="more relaxed-commit connections for a burst")

    @field_validator("url", mode="before")
    @classmethod
    def _async_driver(cls, value: object) -> object:
        """Accept the plain URLs people paste and pick the async driver for them; empty means the default."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        if not value.strip():  # `DATABASE_URL=` in an .env file: the SQLite file, not a parse error at start
            return cls.model_fields["url"].default
        for plain, async_ in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return async_ + value[len(plain) :]
        return value


class RedisSettings(_Section):
    """REDIS_URL: unset means in-process stores (state, locks, dedupe keys)."""

    model_config = SettingsConfigDict(env_prefix="REDIS_")
    url: SecretStr | None = None  # may hold a password

    def url_value(self) -> str | None:
        return self.url.get_secret_value() if self.url else None


class RasaSettings(_Section):
    """Where the Rasa NLU server listens and how long the bot waits for it."""

    model_config = SettingsConfigDict(env_prefix="RASA_")
    host: str = "127.0.0.1"
    port: int = 5005
    url: str = ""
    token: SecretStr | None = Field(default=None, description="JWT secret of the Rasa API; random per start if unset")
    secrets_dir: Path = Field(default=REPO_ROOT / "var", description="where a generated Rasa secret is kept (0600)")
    timeout: float = Field(default=3.0, gt=0, description="seconds for one /model/parse call")
    start_timeout: float = Field(default=240.0, gt=0, description="seconds to wait for a started server")
    project_dir: Path = REPO_ROOT / "nlu"
    # a story of several sentences is also classified as its last question, weighted so (0: off; bot/nlu/long_text.py)
    question_weight: float = Field(default=0.5, ge=0, le=1)
    # Kazakh or Russian typed in Latin letters is also classified transliterated to Cyrillic, weighted so
    # (0: off; bot/nlu/transliterate.py)
    latin_weight: float = Field(default=0.6, ge=0, le=1)

    @property
    def base_url(self) -> str:
        """The first (or only) server: the one `pana serve` starts when none answers."""
        return self.replica_urls[0]

    @property
    def replica_urls(self) -> tuple[str, ...]:
        """RASA_URL may list several replicas, comma-separated; the client balances over them."""
        urls = tuple(url.strip().rstrip("/") for url in self.url.split(",") if url.strip())
        return urls or (f"http://{self.host}:{self.port}",)

    def replica(self, url: str) -> RasaSettings:
        """These settings for one replica (its own secret file, by port, when RASA_TOKEN is unset)."""
        return self.model_copy(update={"url": url})


class PolicySettings(_Section):
    """Confidence thresholds of the dialogue policy: the one place they are stated.

    Tuned on the held-out set in nlu/tests/ with `pana nlu tune`; see nlu/README.md.
    """

    model_config = SettingsConfigDict(env_prefix="NLU_")
    answer_threshold: float = Field(default=0.65, ge=0, le=1)
    suggest_threshold: float = Field(default=0.05, ge=0, le=1)
    # out_of_scope is believed whenever it is the top intent: any higher threshold refused more real questions.
    out_of_scope_threshold: float = Field(default=0.05, ge=0, le=1)
    # safety first: an urgent topic or asylum_apply among the top guesses at or above this leads the reply
    urgent_threshold: float = Field(default=0.20, ge=0, le=1)


class PanaSettings(_Section):
    """Behaviour of the assistant itself."""

    model_config = SettingsConfigDict(env_prefix="PANA_")
    environment: Literal["production", "development"] = Field(
        default="production", description="development allows DATABASE_ECHO; nothing else differs"
    )
    var_dir: Path = Field(default=REPO_ROOT / "var", description="generated secrets and the default SQLite file")
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="comma-separated base64 keys of 32 bytes, newest first; unset: a key file under var_dir",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    content_dir: Path = REPO_ROOT / "content"
    locales_dir: Path = REPO_ROOT / "locales"
    default_language: Language = FALLBACK_LANGUAGE
    conversation_idle_hours: int = Field(default=24, gt=0)
    message_retention_days: int = Field(default=180, gt=0)
    audit_retention_days: int = Field(default=365, gt=0, description="how long the lawyers' audit trail is kept")
    max_input_chars: int = Field(default=4000, gt=0)
    state_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    flood_limit: int = Field(default=10, gt=0, description="messages per flood window before a slow-down note")
    flood_window_seconds: float = Field(default=10.0, gt=0)
    turn_lease_seconds: float = Field(
        default=90.0, gt=0, description="how long one process holds a message it handles (renewed per part sent)"
    )
    # Twilio abandons a webhook after 15 s (its default read timeout): a message waiting for the person's previous
    # one must give up well before, so the turn that follows still fits and Pana answers 503 itself.
    person_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        lt=TWILIO_WEBHOOK_TIMEOUT_SECONDS,
        description="how long a message waits for the same person's previous one before a 503 (redelivered)",
    )
    claim_seconds: int = Field(
        default=30, gt=0, description="a delivery being handled holds its claim this long (renewed while it runs)"
    )
    recovery_grace_seconds: float = Field(
        default=60.0, ge=0, description="a message stored but unanswered this long is answered by the recovery sweep"
    )
    recovery_interval_seconds: float = Field(default=30.0, gt=0, description="how often the recovery sweep runs")
    recovery_max_age_hours: float = Field(
        default=24.0, gt=0, description="older unanswered messages are left alone (a stale answer helps no one)"
    )
    global_turns_per_second: float = Field(
        default=20.0, ge=0, description="free-text turns a second before a 'busy' reply, shared via Redis (0: off)"
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(default="text", description="json: one object per line, redacted")
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token for /metrics from other hosts; unset: loopback peers only"
    )
    workers: int = Field(default=1, ge=1, le=64, description="`pana serve` processes sharing the port")
    public_url: str | None = Field(default=None, description="the public base URL Twilio calls (signature checks)")
    console: bool = Field(default=False, description="serve the staff web console under /console/ (off by default)")

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None


class TelegramSettings(_Section):
    """The Telegram bot: polling when no webhook URL is set."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_")
    bot_token: SecretStr | None = None
    api_base: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None  # when unset in webhook mode, a random one kept under PANA_VAR_DIR
    max_update_attempts: int = Field(
        default=5, ge=1, description="an update that failed this often is acknowledged with an apology, not retried"
    )


class TwilioSettings(_Section):
    """WhatsApp through Twilio: served when the account, token and sender number are set."""

    model_config = SettingsConfigDict(env_prefix="TWILIO_")
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    whatsapp_from: str | None = None
    api_base: str = "https://api.twilio.com"
    template_kk: str | None = None
    template_ru: str | None = None
    template_en: str | None = None
    # Twilio's connection overrides for the incoming-message webhook (README, "Redeliveries"): without them
    # Twilio does not call again after a 5xx, so a message that failed before it was stored would be lost.
    connection_overrides: str = Field(
        default="rc=3&rp=ct,rt,5xx", description="the URL fragment (after '#') Twilio reads its retry settings from"
    )

    # A delivery being handed to Twilio is claimed (`submitting`) for this long, the claim renewed before each try;
    # one whose claim ran out was cut off by a crash and is sent again (longer than a try, 15 s, and its wait).
    submission_lease_seconds: float = Field(
        default=120.0, gt=0, description="a WhatsApp message being sent holds its claim this long (renewed per try)"
    )

    @field_validator("connection_overrides")
    @classmethod
    def _bare_fragment(cls, value: str) -> str:
        return value.strip().lstrip("#")

    @field_validator("whatsapp_from")
    @classmethod
    def _whatsapp_address(cls, value: str | None) -> str | None:
        """Accept the bare number people paste; Twilio wants `whatsapp:+…`."""
        if not value:
            return None
        return value if value.startswith("whatsapp:") else f"whatsapp:{value}"

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.whatsapp_from)

    def templates(self) -> dict[str, str]:
        """Content SIDs of the approved "please reply" template, per language that has one."""
        found = {language: getattr(self, f"template_{language}", None) for language in LANGUAGES}
        return {language: sid for language, sid in found.items() if sid}


class LawyerSettings(_Section):
    """The lawyer handoff: when lawyers work, where new cases are announced, how long cases may wait."""

    model_config = SettingsConfigDict(env_prefix="LAWYER_")
    hours: str = Field(default="Mon-Fri 09:00-18:00", description="e.g. 'Mon-Fri 09:00-18:00; Sat 10:00-14:00'")
    timezone: str = "Asia/Almaty"
    group_chat_id: int | None = Field(default=None, description="announce new cases in this Telegram group")
    show_name: bool = Field(default=True, description="sign relayed replies with the lawyer's name")
    reannounce_minutes: float = Field(default=60.0, gt=0, description="a waiting case is announced again after this")
    relay_lease_seconds: float = Field(
        default=900.0, gt=0, description="a process that died while sending a relay leaves it to others after this"
    )
    announce_lease_seconds: float = Field(
        default=900.0, gt=0, description="a process that died while announcing leaves the case to others after this"
    )
    idle_return_hours: float = Field(default=48.0, gt=0, description="an assigned case with no lawyer activity returns")
    sweep_seconds: float = Field(default=10.0, gt=0, description="how often undelivered relays and timers are checked")
    summary_messages: int = Field(default=5, ge=0, le=20, description="the user's last messages shown to the lawyer")
    max_cases_per_day: int = Field(default=3, ge=0, description="cases one person may open in 24 hours (0: no cap)")

    @field_validator("hours")
    @classmethod
    def _parsable_hours(cls, value: str) -> str:
        WorkingHours.parse(value)  # a typo here should stop start-up, not surprise users later
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class ConsoleSettings(_Section):
    """The staff web console (on with PANA_CONSOLE=1): sessions, login limits, live updates, highlights."""

    model_config = SettingsConfigDict(env_prefix="PANA_CONSOLE_")
    idle_minutes: float = Field(default=30.0, gt=0, description="a session unused this long ends")
    session_hours: float = Field(default=12.0, gt=0, description="a session ends this long after login, used or not")
    login_attempts: int = Field(default=5, gt=0, description="wrong passwords in a row before the account locks")
    lockout_minutes: float = Field(default=15.0, gt=0, description="how long a locked account stays locked")
    address_attempts: int = Field(default=30, gt=0, description="login attempts per address per lockout period")
    poll_seconds: float = Field(default=2.0, gt=0, description="how often live pages look for changes")
    overdue_hours: float = Field(default=4.0, gt=0, description="a case waiting longer than this is highlighted")
    require_totp: bool = Field(
        default=True, description="supervisors and admins sign in only with a one-time code (pana staff totp)"
    )


class Settings(BaseModel):
    """The whole tree."""

    model_config = {"frozen": True}
    pana: PanaSettings
    database: DatabaseSettings
    redis: RedisSettings
    rasa: RasaSettings
    policy: PolicySettings
    telegram: TelegramSettings
    twilio: TwilioSettings
    lawyers: LawyerSettings = Field(default_factory=LawyerSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)

    @model_validator(mode="after")
    def _echo_only_in_development(self) -> Settings:
        # Echoed statements carry what people wrote; a production log must never hold them.
        if self.database.echo and self.pana.environment != "development":
            raise ValueError("DATABASE_ECHO is refused unless PANA_ENVIRONMENT=development")
        return self


def load_settings() -> Settings:
    """Read every section from the environment (and a .env file when present)."""
    env_file = REPO_ROOT / ".env"
    kwargs = {"_env_file": env_file} if env_file.exists() else {}
    return Settings(
        pana=PanaSettings(**kwargs),  # type: ignore[arg-type]
        database=DatabaseSettings(**kwargs),  # type: ignore[arg-type]
        redis=RedisSettings(**kwargs),  # type: ignore[arg-type]
        rasa=RasaSettings(**kwargs),  # type: ignore[arg-type]
        policy=PolicySettings(**kwargs),  # type: ignore[arg-type]
        telegram=TelegramSettings(**kwargs),  # type: ignore[arg-type]
        twilio=TwilioSettings(**kwargs),  # type: ignore[arg-type]
        lawyers=LawyerSettings(**kwargs),  # type: ignore[arg-type]
        console=ConsoleSettings(**kwargs),  # type: ignore[arg-type]
    )
