//! Settings: `config/base.toml`, then `config/{profile}.toml`, then `APP__SECTION__KEY`
//! environment variables (and `DATABASE_URL`). One section per crate, each defined by the
//! crate that reads it; the binary loads them all and passes each where it belongs. Never
//! global.
//!
//! The profile fails closed: it must be one of `local`, `test` or `production`; the
//! development secret of the repository signs tokens only in `local` and `test`, and only on
//! a loopback address; `production` refuses any secret shorter than 32 bytes or with few
//! distinct characters.

use rdv_api::ServerSettings;
use rdv_app::auth::AuthSettings;
use rdv_app::imports::ImportSettings;
use rdv_app::jobs::JobSettings;
use rdv_app::notify::NotifySettings;
use rdv_app::privacy::PrivacySettings;
use rdv_app::search::SearchSettings;
use rdv_app::shop::ShopSettings;
use rdv_notify::{EmailSettings, SmsSettings};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Where the binary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A developer's machine (`make run`).
    Local,
    /// The test suites.
    Test,
    Production,
}

impl FromStr for Profile {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, SettingsError> {
        match s {
            "local" => Ok(Self::Local),
            "test" => Ok(Self::Test),
            "production" => Ok(Self::Production),
            other => Err(SettingsError::Invalid(format!(
                "unknown profile `{}`: expected local, test or production",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Test => "test",
            Self::Production => "production",
        })
    }
}

/// The `[database]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// What the application connects as: the role rdv_app, which may not change the schema or
    /// rewrite the audit log.
    pub url: SecretString,
    /// The owner, for migrations (`rdv migrate`, and at start-up); `url` when absent.
    #[serde(default)]
    pub owner_url: Option<SecretString>,
    pub pool_size: u32,
}

impl DatabaseSettings {
    /// Where migrations run.
    pub fn owner_url(&self) -> &SecretString {
        self.owner_url.as_ref().unwrap_or(&self.url)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub jobs: JobSettings,
    pub search: SearchSettings,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub notify: NotifySettings,
    pub privacy: PrivacySettings,
    pub shop: ShopSettings,
    pub imports: ImportSettings,
}

#[derive(Debug, Clone, Deserialize)]
struct Sections {
    server: ServerSettings,
    database: DatabaseSettings,
    auth: AuthSettings,
    jobs: JobSettings,
    search: SearchSettings,
    email: EmailSettings,
    sms: SmsSettings,
    notify: NotifySettings,
    privacy: PrivacySettings,
    shop: ShopSettings,
    imports: ImportSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The secret of `config/local.toml` and `config/test.toml`, known to anyone holding the
/// repository.
const DEV_SECRET_PREFIX: &str = "dev-only-";

impl Settings {
    pub fn load(config_dir: &Path, profile: &str) -> Result<Self, SettingsError> {
        let profile: Profile = profile.parse()?;
        let mut builder = config::Config::builder()
            .add_source(config::File::from(config_dir.join("base.toml")))
            .add_source(
                config::File::from(config_dir.join(format!("{profile}.toml"))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__"),
            );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let sections: Sections = builder.build()?.try_deserialize()?;
        let settings = Settings {
            profile,
            server: sections.server,
            database: sections.database,
            auth: sections.auth,
            jobs: sections.jobs,
            search: sections.search,
            email: sections.email,
            sms: sections.sms,
            notify: sections.notify,
            privacy: sections.privacy,
            shop: sections.shop,
            imports: sections.imports,
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        check_secret(
            self.profile,
            self.auth.jwt_secret.expose_secret(),
            &self.server.host,
        )?;
        self.auth.check().map_err(SettingsError::Invalid)?;
        if !(1024..=1024 * 1024 * 1024).contains(&self.imports.max_file_bytes)
            || !(1..=1_000_000).contains(&self.imports.max_rows)
        {
            return Err(SettingsError::Invalid(
                "imports.max_file_bytes must be between 1 KiB and 1 GiB, imports.max_rows between 1 and 1000000".into(),
            ));
        }
        if self.profile == Profile::Production
            && (self
                .shop
                .card_webhook_secret
                .expose_secret()
                .contains("rdv_local")
                || self.shop.card_api_key.expose_secret().contains("rdv_local"))
        {
            return Err(SettingsError::Invalid(
                "shop.card_api_key and shop.card_webhook_secret are the simulator's development values: set your provider's".into(),
            ));
        }
        if !(1..=24 * 60).contains(&self.shop.hold_minutes)
            || !(10..=3600).contains(&self.shop.webhook_tolerance_seconds)
        {
            return Err(SettingsError::Invalid(
                "shop.hold_minutes must be between 1 and 1440, shop.webhook_tolerance_seconds between 10 and 3600".into(),
            ));
        }
        if self.jobs.lease_seconds <= 0 || self.jobs.max_attempts <= 0 {
            return Err(SettingsError::Invalid(
                "jobs.lease_seconds and jobs.max_attempts must be positive".into(),
            ));
        }
        if !(1..=24 * 30).contains(&self.privacy.archive_hours)
            || !(1..=10_000).contains(&self.privacy.sweep_batch)
            || !(1..=100).contains(&self.privacy.sweep_duty_percent)
        {
            return Err(SettingsError::Invalid(
                "privacy.archive_hours must be between 1 and 720, privacy.sweep_batch between 1 and 10000, privacy.sweep_duty_percent between 1 and 100"
                    .into(),
            ));
        }
        if self.notify.lease_seconds <= 0 || !(1..=1000).contains(&self.notify.batch_size) {
            return Err(SettingsError::Invalid(
                "notify.lease_seconds must be positive and notify.batch_size between 1 and 1000"
                    .into(),
            ));
        }
        if !(1..=10).contains(&self.sms.max_parts) {
            return Err(SettingsError::Invalid(
                "sms.max_parts must be between 1 and 10".into(),
            ));
        }
        if !self.notify.public_url.starts_with("http://")
            && !self.notify.public_url.starts_with("https://")
        {
            return Err(SettingsError::Invalid(
                "notify.public_url must be an http:// or https:// URL".into(),
            ));
        }
        if self.profile == Profile::Production
            && self.email.tls == rdv_notify::TlsMode::None
            && !is_loopback(&self.email.smtp_host)
        {
            return Err(SettingsError::Invalid(
                "email.tls = \"none\" sends mail in clear text: only to an SMTP server on this \
                 machine (use \"starttls\" or \"tls\")"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn check_secret(profile: Profile, secret: &str, host: &str) -> Result<(), SettingsError> {
    let invalid = |m: &str| Err(SettingsError::Invalid(m.to_owned()));
    if secret.starts_with(DEV_SECRET_PREFIX) {
        return match profile {
            Profile::Production => invalid(
                "the production profile needs its own auth.jwt_secret (set APP__AUTH__JWT_SECRET \
                 to at least 32 random bytes, e.g. `openssl rand -base64 48`)",
            ),
            _ if !is_loopback(host) => invalid(
                "the development auth.jwt_secret only serves on a loopback address; set \
                 APP__AUTH__JWT_SECRET to serve on another",
            ),
            _ => Ok(()),
        };
    }
    let distinct = secret
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    if secret.len() < 32 || distinct < 16 {
        return invalid(
            "auth.jwt_secret must be at least 32 random bytes (e.g. `openssl rand -base64 48`)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    const DEV: &str = "dev-only-secret-change-me-0123456789abcdef";
    const STRONG: &str = "k3Jx9Qw2Lm8Zp4Rt7Vy1Bn6Cd5Fg0Hs2Ju8Kl";

    #[test]
    fn the_development_secret_works_only_in_local_and_test_on_loopback() {
        assert!(check_secret(Profile::Local, DEV, "127.0.0.1").is_ok());
        assert!(check_secret(Profile::Test, DEV, "::1").is_ok());
        assert!(check_secret(Profile::Local, DEV, "0.0.0.0").is_err());
        assert!(check_secret(Profile::Production, DEV, "127.0.0.1").is_err());
    }

    #[test]
    fn production_refuses_short_or_repetitive_secrets() {
        assert!(check_secret(Profile::Production, "short", "0.0.0.0").is_err());
        assert!(check_secret(Profile::Production, &"a".repeat(64), "0.0.0.0").is_err());
        assert!(check_secret(
            Profile::Production,
            "abababababababababababababababababab",
            "0.0.0.0"
        )
        .is_err());
        assert!(check_secret(Profile::Production, STRONG, "0.0.0.0").is_ok());
    }

    #[test]
    fn an_unknown_or_misspelled_profile_is_an_error() {
        for p in ["prod", "Production", "", "staging"] {
            let err = Settings::load(&config_dir(), p).unwrap_err();
            assert!(err.to_string().contains("unknown profile"), "{p}: {err}");
        }
    }

    #[test]
    fn the_repository_files_load_for_local_and_test_and_fail_for_production() {
        // DATABASE_URL may be set by the test harness; it does not matter here.
        assert_eq!(
            Settings::load(&config_dir(), "test").unwrap().profile,
            Profile::Test
        );
        assert_eq!(
            Settings::load(&config_dir(), "local").unwrap().profile,
            Profile::Local
        );
        // The production file has no secret of its own: without one set in the environment,
        // production does not start.
        if std::env::var("APP__AUTH__JWT_SECRET").is_err() {
            let err = Settings::load(&config_dir(), "production").unwrap_err();
            assert!(err.to_string().contains("jwt_secret"), "{err}");
        }
    }
}
