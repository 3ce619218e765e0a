"""All configuration of Lingxi in one place; every field can be set with an env var LINGXI_<NAME>."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINGXI_", env_file=".env", extra="ignore")

    env: str = Field("dev", description="dev | test | prod; prod refuses the demo secrets")
    database_url: str = Field(
        f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'lingxi.db'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… (embedded) or postgresql+asyncpg://…",
    )
    redis_url: str | None = Field(
        None, description="redis://… enables Redis for realtime fan-out, rate limits and the job queue"
    )
    redis_prefix: str = Field(
        "lingxi:", description="Key and channel prefix in Redis: several deployments can share one server"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    ws_implementation: str = Field(
        "websockets-sansio",
        description="uvicorn's WebSocket protocol: websockets-sansio | websockets | wsproto",
    )
    bank_timezone: str = "Asia/Shanghai"

    # Staff sessions (JWT signed by the server).
    secret_key: str = "lingxi-dev-secret-change-me-0123456789abcdef"
    staff_token_minutes: int = 12 * 60

    # Customer login tokens are issued by the bank's app and verified with this key.
    app_token_secret: str = "lingxi-demo-app-secret-0123456789abcdef"
    app_token_algorithm: str = "HS256"
    app_token_issuer: str = "demo-bank-app"

    # Step-up verification.
    verification_window_minutes: int = 10
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_send_limit_per_customer: int = 5  # per otp_send_window_seconds
    otp_send_limit_per_phone: int = 5
    otp_send_window_seconds: int = 3600
    otp_resend_interval_seconds: int = 60
    biometric_secret: str = "lingxi-demo-biometric-secret-0123456789"

    # The bot: its intent model ("demo" = the shipped one, or a directory made by `lingxi nlu train`)
    # and its flows (a directory of flow files; empty = the shipped ones).
    nlu_model: str = "demo"
    bot_flows_dir: str | None = None
    # A conversation left with the bot this long is closed (outcome abandoned unless it was resolved).
    bot_idle_close_minutes: int = 30
    bot_idle_sweep_seconds: float = 60.0

    # WeChat Official Account.
    wechat_token: str = "test"
    wechat_app_id: str = "wxdemoappid0000001"
    wechat_account_id: str | None = Field(None, description="The account's gh_… id; pushes to others get 403")
    wechat_encoding_aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    wechat_passive_reply_seconds: float = 4.0
    wechat_max_body_bytes: int = 64 * 1024

    # Signed inbound webhooks: app token -> HMAC secret, e.g. {"sms-gw": "s3cret"}.
    webhook_secrets: dict[str, str] = Field(
        default_factory=lambda: {"demo-sms": "demo-sms-secret", "demo-ivr": "demo-ivr-secret"}
    )
    webhook_max_skew_seconds: int = 300

    # Notifications: non-urgent customer notices wait out the quiet hours (bank local time, HH:MM).
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "08:00"
    wechat_cs_window_hours: int = Field(48, description="WeChat allows service messages this long after")

    # Work orders (工单).
    ticket_attachment_dir: Path = PROJECT_ROOT / "var" / "attachments"
    ticket_attachment_max_bytes: int = 5 * 1024 * 1024
    ticket_attachments_per_order: int = 20
    ticket_urge_interval_minutes: int = 120
    ticket_urge_daily_limit: int = 3
    ticket_auto_close_days: int = Field(7, description="resolved orders close unless the customer objects")
    ticket_reopen_days: int = Field(7, description="a closed order can be reopened this long after closing")
    ticket_duplicate_days: int = 30
    ticket_hot_window_minutes: int = 60
    ticket_hot_threshold: int = Field(5, description="similar orders from this many customers raise an alert")
    ticket_sla_sweep_seconds: float = 30.0

    # Periodic jobs (SLA sweep, deferred notices) run inside the API process in the embedded mode and
    # in `lingxi worker` when Redis is configured. None = decide by that rule (never under tests).
    jobs_in_process: bool | None = None
    # Routing (lingxi.routing): queue priority, ageing, service level and the router's sweep.
    routing_tier_points: dict[str, int] = Field(
        default_factory=lambda: {"private": 40, "vip": 30, "platinum": 10, "gold": 5},
        description="Priority points of a customer tier; tiers not listed have 0",
    )
    routing_urgent_points: int = Field(
        60, ge=0, description="Points of an urgent hand-off (fraud, card loss)"
    )
    routing_transfer_points: int = Field(
        30, ge=0, description="Points of a conversation transferred to a group"
    )
    routing_ageing_seconds: float = Field(
        10.0, gt=0, description="Waiting this long is worth one priority point (priority rises with the wait)"
    )
    routing_short_abandon_seconds: int = Field(
        5,
        ge=0,
        description="Customers leaving the queue sooner are short abandons (outside the service level)",
    )
    routing_sticky_days: int = Field(
        7, ge=0, description="The customer's last agent is preferred within this"
    )
    routing_default_wrap_up_seconds: int = Field(30, ge=0, le=600)
    routing_handle_seconds: int = Field(
        240, gt=0, description="Assumed handling time of a chat for wait estimates until there is history"
    )
    routing_tick_seconds: float = Field(
        2.0, gt=0, description="The router's sweep: overflow, positions, wallboard"
    )
    routing_disconnect_grace_seconds: int = Field(
        60, ge=5, description="An online agent whose workspace has been gone this long is set away"
    )

    max_message_chars: int = 2000

    # Knowledge base imports (.xlsx / .csv).
    knowledge_import_max_bytes: int = 5 * 1024 * 1024
    knowledge_import_max_rows: int = 2000
    web_dist: Path = PROJECT_ROOT / "web" / "dist"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_demo_secrets_in_prod(self) -> Settings:
        if self.env == "prod":
            defaults = type(self).model_fields
            weak = [
                name
                for name in ("secret_key", "app_token_secret", "biometric_secret", "wechat_encoding_aes_key")
                if getattr(self, name) == defaults[name].default
            ]
            if weak:
                raise ValueError(f"LINGXI_ENV=prod needs real secrets; demo value in: {', '.join(weak)}")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
