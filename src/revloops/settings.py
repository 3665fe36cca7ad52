"""Settings from the environment (``REVLOOPS_*``) or a ``.env`` file; never from config YAML.

Secrets live here only. Outside development, placeholder secrets are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "secret", "placeholder", "xxx", "todo"}


class ApiToken(BaseModel):
    """One bearer token: who it is and what tier it has."""

    token: SecretStr
    user: str
    tier: Literal["rep", "manager", "leadership", "ops", "eng"] = "rep"


class Settings(BaseSettings):
    """Everything the platform reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="REVLOOPS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    config: Path = Field(default=Path("config"), description="the config directory (a company's GTM repo)")
    db: str = Field(default="", description="state database URL; default a SQLite file under .revloops/")
    state_dir: Path = Field(default=Path(".revloops"), description="where local state files live")
    crm: Literal["local", "salesforce"] = "local"

    sf_instance_url: str | None = None
    sf_access_token: SecretStr | None = None
    sf_login_url: str = "https://login.salesforce.com"
    sf_client_id: str | None = None
    sf_username: str | None = None
    sf_private_key_file: Path | None = None
    sf_api_version: str = "59.0"
    sf_ca_bundle: Path | None = None
    sf_timeout: float = Field(default=30.0, description="seconds for every Salesforce HTTP call")

    pdl_api_key: SecretStr | None = None
    pdl_base_url: str = "https://api.peopledatalabs.com/v5"
    pdl_rate_per_minute: int = 100
    pdl_min_likelihood: int = Field(default=6, ge=1, le=10, description="PDL matches below this confidence are not found")
    enrichment_waterfall: list[str] = Field(default=["pdl", "offline"], description="providers tried in order")
    enrichment_cache_ttl_days: float = Field(default=30.0, gt=0, description="how long an enrichment answer is reused")
    enrichment_timeout_seconds: float = Field(default=8.0, gt=0, description="how long routing waits for enrichment")

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    llm_model: str = "claude-haiku-5-5"
    llm_concurrency: int = 4
    llm_budget_usd: float = 50.0

    engine_db: str = Field(default="", description="workflow engine system DB URL; default engine.sqlite in the state dir, "
                           "or the state database itself when that is Postgres")
    executor_id: str = Field(default="local", description="this worker's name; distinct per process sharing one Postgres")
    chain_concurrency: int = 8
    chain_poll_seconds: float = Field(default=0.1, gt=0, le=10,
                                      description="how often a worker looks for queued leads; each look costs a few queries")

    events_secret: SecretStr | None = None
    crm_poll: bool = Field(default=False, description="engine workers poll the CRM for changes every 30 s")
    api_tokens: list[ApiToken] = Field(
        default_factory=list,
        description='JSON list: [{"token": "...", "user": "ops@acme.example", "tier": "ops"}]',
    )

    @field_validator("db")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="after")
    def _no_placeholders(self) -> Settings:
        if self.env != "production":
            return self
        secrets = [self.events_secret, self.sf_access_token, self.pdl_api_key, self.anthropic_api_key]
        secrets += [t.token for t in self.api_tokens]
        for secret in secrets:
            if secret is not None and secret.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError("a placeholder secret is set; production needs real secrets")
        return self

    @property
    def db_url(self) -> str:
        """The state database URL, defaulting to ``<state_dir>/state.sqlite``."""
        return self.db or f"sqlite:///{self.state_dir / 'state.sqlite'}"

    @property
    def engine_db_url(self) -> str:
        """The workflow engine's system database URL (see ``engine_db``)."""
        if self.engine_db:
            return self.engine_db
        if self.db.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
            return self.db
        return f"sqlite:///{self.state_dir / 'engine.sqlite'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options (``--config``, ``--db``) taking precedence."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
