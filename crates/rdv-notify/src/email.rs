//! Email through SMTP with lettre: a pooled connection, the TLS mode and credentials from
//! settings, and outcomes sorted into permanent failures (a bad address, a refusal) and
//! temporary ones (the server unreachable, a 4xx answer) that the outbox retries.

use crate::templates::Rendered;
use lettre::message::{header, Attachment as Part, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text: only for a server on the same machine or network.
    None,
    /// Plain text upgraded with STARTTLS, which the server must offer.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The `[email]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: TlsMode,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The sender, e.g. `rdv <no-reply@rdv.example>`.
    pub from: String,
    /// The right-hand side of the Message-IDs the platform writes.
    pub message_id_domain: String,
    /// Connections kept open to the server; a notification worker sends that many messages
    /// at once.
    pub pool_size: u32,
    pub timeout_seconds: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Retrying will not help: a malformed address, a refused recipient, bad settings.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Worth another try later: the server unreachable or busy.
    #[error("temporary failure: {0}")]
    Temporary(String),
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub to_address: &'a str,
    pub to_name: &'a str,
    /// The outbox row's idempotency key: the Message-ID derives from it.
    pub idempotency_key: &'a str,
    pub content: &'a Rendered,
    pub attachment: Option<&'a Attachment>,
    /// A marketing message's one-click unsubscribe URL (RFC 8058): it goes out with
    /// `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub unsubscribe: Option<&'a str>,
}

/// A file sent with a message (the agenda as iCalendar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    /// E.g. `text/calendar; charset=utf-8; method=PUBLISH`.
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What the server said when it took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    pub reply: String,
}

/// The Message-ID of the message with `key`: the same for every attempt, so that a message
/// sent twice (a worker killed after the server took it) is one message to mail clients.
pub fn message_id(key: &str, domain: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}@{domain}>")
}

/// A pooled SMTP client.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    domain: String,
}

impl Mailer {
    pub fn new(s: &EmailSettings) -> Result<Self, SendError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Permanent(format!("email settings: {what}: {e}"))
        };
        let from: Mailbox = s.from.parse().map_err(|e| bad("from", &e))?;
        let tls = match s.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => {
                Tls::Required(TlsParameters::new(s.smtp_host.clone()).map_err(|e| bad("tls", &e))?)
            }
            TlsMode::Tls => {
                Tls::Wrapper(TlsParameters::new(s.smtp_host.clone()).map_err(|e| bad("tls", &e))?)
            }
        };
        let mut builder = SmtpTransport::builder_dangerous(s.smtp_host.clone())
            .port(s.smtp_port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_seconds)))
            .pool_config(PoolConfig::new().max_size(s.pool_size.max(1)));
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            domain: s.message_id_domain.clone(),
        })
    }

    /// Builds the message (plain text and HTML alternatives) and hands it to the server.
    pub fn send(&self, out: &Outgoing<'_>) -> Result<Delivery, SendError> {
        let address = out
            .to_address
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid address: {e}")))?;
        let name = (!out.to_name.is_empty()).then(|| out.to_name.to_owned());
        let to = Mailbox::new(name, address);
        let id = message_id(out.idempotency_key, &self.domain);
        let body =
            MultiPart::alternative_plain_html(out.content.text.clone(), out.content.html.clone());
        let body = match out.attachment {
            None => body,
            Some(a) => {
                let kind = header::ContentType::parse(&a.content_type)
                    .map_err(|e| SendError::Permanent(format!("attachment content type: {e}")))?;
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Part::new(a.file_name.clone()).body(a.body.clone(), kind))
            }
        };
        let mut builder = Message::builder();
        if let Some(url) = out.unsubscribe {
            if !url.starts_with("https://") && !url.starts_with("http://")
                || url
                    .chars()
                    .any(|c| c.is_whitespace() || c == '>' || c == '<')
            {
                return Err(SendError::Permanent(format!(
                    "`{url}` is not an unsubscribe URL"
                )));
            }
            builder = builder
                .raw_header(header::HeaderValue::new(
                    header::HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(header::HeaderValue::new(
                    header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .from(self.from.clone())
            .to(to)
            .subject(out.content.subject.clone())
            .message_id(Some(id.clone()))
            .header(header::Date::now())
            .multipart(body)
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        match self.transport.send(&message) {
            Ok(response) => Ok(Delivery {
                message_id: id,
                reply: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_per_key_and_distinct_between_keys() {
        let a = message_id("registration.validated:42", "rdv.example");
        assert_eq!(a, message_id("registration.validated:42", "rdv.example"));
        assert_ne!(a, message_id("registration.validated:43", "rdv.example"));
        assert!(a.starts_with('<') && a.ends_with("@rdv.example>"), "{a}");
    }

    #[test]
    fn a_malformed_address_is_a_permanent_failure_before_any_connection() {
        let mailer = Mailer::new(&EmailSettings {
            smtp_host: "127.0.0.1".into(),
            smtp_port: 1,
            tls: TlsMode::None,
            username: None,
            password: None,
            from: "rdv <no-reply@rdv.example>".into(),
            message_id_domain: "rdv.example".into(),
            pool_size: 1,
            timeout_seconds: 1,
        })
        .unwrap();
        let content = Rendered {
            subject: "s".into(),
            text: "t".into(),
            html: "<p>t</p>".into(),
        };
        let out = Outgoing {
            to_address: "not an address",
            to_name: "X",
            idempotency_key: "k",
            content: &content,
            attachment: None,
            unsubscribe: None,
        };
        assert!(matches!(mailer.send(&out), Err(SendError::Permanent(_))));
        // An unreachable server is worth another try.
        let out = Outgoing {
            to_address: "x@example.com",
            ..out
        };
        assert!(matches!(mailer.send(&out), Err(SendError::Temporary(_))));
    }
}
