"""Settings from the environment (``REVLOOPS_*``) or a ``.env`` file; never from config YAML.

Secrets live here only. Outside development, placeholder secrets are refused.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from revloops.core.errors import SettingsError

_PLACEHOLDERS = {"changeme", "change-me", "secret", "placeholder", "xxx", "todo"}
_SCHEMES = {"sqlite", "postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


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
    enrichment_waterfall: list[str] | None = Field(
        default=None, description="providers tried in order; default People Data Labs alone when its key is set, "
        "else the offline provider (which invents firmographics, and says so); never a silent fallback")
    enrichment_cache_ttl_days: float = Field(default=30.0, gt=0, description="how long an enrichment answer is reused")
    enrichment_timeout_seconds: float = Field(default=8.0, gt=0, description="how long routing waits for enrichment")

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    llm_model: str = "claude-haiku-5-5"
    llm_concurrency: int = 4
    llm_budget_usd: float = 50.0
    signal_scan: bool = Field(default=False, description="engine workers run the outbound signal scan ticks")
    signal_corpus: Path | None = Field(default=None, description="the offline scanner's news corpus (JSON lines); "
                                       "default signals/news.jsonl beside the config directory")

    engine_db: str = Field(default="", description="workflow engine system DB URL; default engine.sqlite in the state dir, "
                           "or the state database itself when that is Postgres")
    executor_id: str = Field(default="local", description="this worker's name; distinct per process sharing one Postgres")
    chain_concurrency: int = 8
    chain_poll_seconds: float = Field(default=0.1, gt=0, le=10,
                                      description="how often a worker looks for queued leads; each look costs a few queries")

    warehouse: Path | None = Field(default=None, description="the revenue warehouse's DuckDB file; default "
                                   "warehouse.duckdb in the state dir")
    warehouse_refresh_minutes: float | None = Field(
        default=None, gt=0, description="engine workers refresh the warehouse this often (incrementally); unset: "
        "only `revloops warehouse refresh` does")
    warehouse_as_of: date | None = Field(default=None, description="the day the warehouse's windows and ages count "
                                         "to; default today (a seeded org uses its seed's today)")
    sql_max_rows: int = Field(default=1000, ge=1, le=100_000, description="rows `revloops sql` and run_sql answer")
    sql_timeout_seconds: float = Field(default=10.0, gt=0, le=600,
                                       description="a read-only query is interrupted after this long")

    events_secret: SecretStr | None = None
    crm_poll: bool = Field(default=False, description="engine workers poll the CRM for changes every 30 s")
    api_preview_concurrency: int = Field(default=1, ge=1, le=64,
                                         description="previews the API runs at once; the rest wait their turn "
                                         "asleep instead of contending for the interpreter with every request")
    api_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024,
                                    description="the largest request body the API reads; larger ones are 413")
    api_tokens: list[ApiToken] = Field(
        default_factory=list,
        description='JSON list: [{"token": "...", "user": "ops@acme.example", "tier": "ops"}]',
    )
    token: SecretStr | None = Field(default=None, description="who `revloops mcp` serves over stdio: one of the "
                                    "tokens of REVLOOPS_API_TOKENS (no token, no tools)")

    @field_validator("db", "engine_db")
    @classmethod
    def _database_url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            return v
        scheme, sep, rest = v.partition("://")
        if not sep or not rest:
            raise ValueError(f"{v!r} is not a database URL (sqlite:///PATH or postgresql://USER@HOST/DB)")
        if scheme not in _SCHEMES:
            raise ValueError(f"{scheme!r} databases are not supported; use sqlite:///PATH or postgresql://...")
        return v

    @model_validator(mode="after")
    def _sqlite_folders_exist(self) -> Settings:
        """A SQLite file goes in a folder that exists, or under the state folder (created on first use):
        a typo in a path must not create a database somewhere else."""
        state = self.state_dir.resolve()
        for name, url in (("REVLOOPS_DB", self.db), ("REVLOOPS_ENGINE_DB", self.engine_db)):
            if not url.startswith("sqlite:///") or url.endswith(":memory:"):
                continue
            folder = Path(url.removeprefix("sqlite:///")).resolve().parent
            if not folder.is_dir() and not folder.is_relative_to(state):
                raise ValueError(f"{name}: the folder {folder} does not exist")
        return self

    @model_validator(mode="after")
    def _no_placeholders(self) -> Settings:
        if self.env != "production":
            return self
        secrets = [self.events_secret, self.sf_access_token, self.pdl_api_key, self.anthropic_api_key]
        secrets += [t.token for t in self.api_tokens] + [self.token]
        for secret in secrets:
            if secret is not None and secret.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError("a placeholder secret is set; production needs real secrets")
        return self

    @property
    def db_url(self) -> str:
        """The state database URL, defaulting to ``<state_dir>/state.sqlite``."""
        return self.db or f"sqlite:///{self.state_dir / 'state.sqlite'}"

    @property
    def warehouse_path(self) -> Path:
        """The warehouse's DuckDB file."""
        return self.warehouse or self.state_dir / "warehouse.duckdb"

    @property
    def engine_db_url(self) -> str:
        """The workflow engine's system database URL (see ``engine_db``)."""
        if self.engine_db:
            return self.engine_db
        if self.db.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
            return self.db
        return f"sqlite:///{self.state_dir / 'engine.sqlite'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with CLI options (``--config``, ``--db``) taking precedence.

    Raises:
        SettingsError: a setting that cannot be used, named as its environment variable.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        name = f"REVLOOPS_{field.split('.')[0].upper()}" if field else ""
        if msg.startswith("REVLOOPS_"):
            name, _, msg = msg.partition(": ")
        raise SettingsError(msg, name) from None
    except ValueError as exc:  # pydantic-settings: a complex value (a list, tokens) that is not JSON
        text = str(exc)
        field = text.split('"')[1] if text.count('"') >= 2 else ""
        raise SettingsError("not valid JSON" if "JSON" in text or "parsing" in text else text,
                            f"REVLOOPS_{field.upper()}" if field else "") from None
