//! Settings: `config/base.toml`, then `config/{profile}.toml`, then `APP__SECTION__KEY`
//! environment variables (and `DATABASE_URL`). Passed explicitly; never global.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub profile: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy you run).
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub access_token_seconds: i64,
    pub refresh_token_days: i64,
    /// Failed logins for one account within the window before it answers 429.
    pub max_failures_per_account: i64,
    /// Failed logins from one client address within the window before it answers 429.
    pub max_failures_per_address: i64,
    pub failure_window_seconds: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The development secret of `config/base.toml`; refused by the production profile.
const DEV_SECRET_PREFIX: &str = "dev-only-";

impl Settings {
    pub fn load(config_dir: &Path, profile: &str) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from(config_dir.join("base.toml")))
            .add_source(
                config::File::from(config_dir.join(format!("{profile}.toml"))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .set_override("profile", profile)?;
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        let secret = self.auth.jwt_secret.expose_secret();
        if secret.len() < 32 {
            return Err(SettingsError::Invalid(
                "auth.jwt_secret must be at least 32 characters".into(),
            ));
        }
        if self.profile == "production" && secret.starts_with(DEV_SECRET_PREFIX) {
            return Err(SettingsError::Invalid(
                "the production profile needs its own auth.jwt_secret (set APP__AUTH__JWT_SECRET)"
                    .into(),
            ));
        }
        if self.auth.access_token_seconds <= 0 || self.auth.refresh_token_days <= 0 {
            return Err(SettingsError::Invalid(
                "token lifetimes must be positive".into(),
            ));
        }
        Ok(())
    }
}
