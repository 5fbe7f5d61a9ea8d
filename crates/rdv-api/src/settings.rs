//! The `[server]` settings section: where the API listens and how it finds the client's
//! address. The binary loads every section; this crate only defines its own.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// How many proxies you run in front of the API. 0: the client is the TCP peer. n > 0:
    /// the client is the n-th `X-Forwarded-For` entry from the right, the one your outermost
    /// proxy appended; entries further left are the client's own claims and are ignored.
    #[serde(default)]
    pub trusted_proxy_hops: u8,
}
