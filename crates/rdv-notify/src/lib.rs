//! rdv's messages: what each kind says, in French and English, as plain text and HTML
//! ([`templates`]), and how an email leaves the platform ([`email`]: lettre over SMTP, with a
//! Message-ID derived from the message's idempotency key, so that a message sent twice after a
//! worker's crash reads as one to mail clients), and how SMS texts are counted and shortened
//! ([`sms`]), and how an SMS leaves it (Kannel's HTTP sendsms interface, with delivery reports).
//! The outbox and its workers live in rdv-app.

pub mod email;
pub mod sms;
pub mod templates;

pub use email::{Attachment, Delivery, EmailSettings, Mailer, Outgoing, SendError, TlsMode};
pub use sms::{Gateway, SmsSettings};
pub use templates::{Kind, Rendered, TemplateError, Templates};
