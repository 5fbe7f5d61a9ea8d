//! Message templates, one pair per kind and language: `{kind}.{lang}.txt` holds the subject
//! and the plain-text body (blocks `subject` and `body`), `{kind}.{lang}.html` the HTML body.
//! They are compiled into the binary; a reference to data the caller did not give is an error,
//! never an empty string.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The kinds of messages the platform sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A registration was recorded, pending the organizers' decision.
    RegistrationReceived,
    RegistrationValidated,
    RegistrationRefused,
    MeetingRequestReceived,
    MeetingRequestAccepted,
    MeetingRequestDeclined,
    MeetingRequestCancelled,
    /// The first published agenda, with the agenda attached as iCalendar.
    AgendaPublished,
    /// A later version changed the person's agenda: what changed, and the agenda attached.
    AgendaChanged,
    /// The evening before an event day: that day's meetings.
    Reminder,
    /// A campaign an organizer wrote (marketing: refused by an opt-out, carries
    /// List-Unsubscribe).
    Campaign,
    /// The one message a prospect may receive: asking for their consent.
    ConsentRequest,
    /// A link to set a new password, to an account (not a person of an organization).
    PasswordReset,
    /// The archive of an access or portability request can be downloaded.
    PrivacyArchiveReady,
    /// The person's data was erased: the last message, sent to the address captured at
    /// erasure, which is forgotten once the message has gone.
    ErasureDone,
    /// To an account nobody has logged in to for long: it will be closed unless used.
    AccountInactive,
    /// Asks a person to confirm or correct their data, through a signed link.
    Requalification,
}

impl Kind {
    pub const ALL: [Kind; 17] = [
        Kind::RegistrationReceived,
        Kind::RegistrationValidated,
        Kind::RegistrationRefused,
        Kind::MeetingRequestReceived,
        Kind::MeetingRequestAccepted,
        Kind::MeetingRequestDeclined,
        Kind::MeetingRequestCancelled,
        Kind::AgendaPublished,
        Kind::AgendaChanged,
        Kind::Reminder,
        Kind::Campaign,
        Kind::ConsentRequest,
        Kind::PasswordReset,
        Kind::PrivacyArchiveReady,
        Kind::ErasureDone,
        Kind::AccountInactive,
        Kind::Requalification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RegistrationReceived => "registration_received",
            Kind::RegistrationValidated => "registration_validated",
            Kind::RegistrationRefused => "registration_refused",
            Kind::MeetingRequestReceived => "meeting_request_received",
            Kind::MeetingRequestAccepted => "meeting_request_accepted",
            Kind::MeetingRequestDeclined => "meeting_request_declined",
            Kind::MeetingRequestCancelled => "meeting_request_cancelled",
            Kind::AgendaPublished => "agenda_published",
            Kind::AgendaChanged => "agenda_changed",
            Kind::Reminder => "reminder",
            Kind::Campaign => "campaign",
            Kind::ConsentRequest => "consent_request",
            Kind::PasswordReset => "password_reset",
            Kind::PrivacyArchiveReady => "privacy_archive_ready",
            Kind::ErasureDone => "erasure_done",
            Kind::AccountInactive => "account_inactive",
            Kind::Requalification => "requalification",
        }
    }

    pub fn parse(word: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == word)
    }

    /// Marketing messages are refused by a marketing opt-out and carry a one-click
    /// unsubscribe link; the others are transactional (the person's registration, meetings
    /// and agenda) and go whatever the person's marketing choices.
    pub fn is_marketing(self) -> bool {
        matches!(self, Kind::Campaign | Kind::ConsentRequest)
    }

    /// Messages that carry the person's agenda (as iCalendar) and read it when they go.
    pub fn carries_agenda(self) -> bool {
        matches!(self, Kind::AgendaPublished | Kind::AgendaChanged)
    }
}

/// The languages templates exist in; any other falls back to English.
pub const LANGUAGES: [&str; 2] = ["fr", "en"];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no template for message kind `{0}`")]
    UnknownKind(String),
    #[error("template {template} cannot be rendered: {detail}")]
    Render { template: String, detail: String },
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

macro_rules! sources {
    ($($kind:literal),* $(,)?) => {
        &[$(
            (concat!($kind, ".fr.txt"), include_str!(concat!("../templates/", $kind, ".fr.txt"))),
            (concat!($kind, ".fr.html"), include_str!(concat!("../templates/", $kind, ".fr.html"))),
            (concat!($kind, ".en.txt"), include_str!(concat!("../templates/", $kind, ".en.txt"))),
            (concat!($kind, ".en.html"), include_str!(concat!("../templates/", $kind, ".en.html"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = sources!(
    "registration_received",
    "registration_validated",
    "registration_refused",
    "meeting_request_received",
    "meeting_request_accepted",
    "meeting_request_declined",
    "meeting_request_cancelled",
    "agenda_published",
    "agenda_changed",
    "reminder",
    "campaign",
    "consent_request",
    "password_reset",
    "privacy_archive_ready",
    "erasure_done",
    "account_inactive",
    "requalification",
);

/// SMS texts: one template per kind and language, `{kind}.{lang}.sms`, for the kinds that
/// also go by SMS.
const SMS_SOURCES: &[(&str, &str)] = &[
    (
        "agenda_changed.fr.sms",
        include_str!("../templates/agenda_changed.fr.sms"),
    ),
    (
        "agenda_changed.en.sms",
        include_str!("../templates/agenda_changed.en.sms"),
    ),
    (
        "reminder.fr.sms",
        include_str!("../templates/reminder.fr.sms"),
    ),
    (
        "reminder.en.sms",
        include_str!("../templates/reminder.en.sms"),
    ),
];

const LAYOUT: (&str, &str) = ("layout.html", include_str!("../templates/layout.html"));

/// Every template, parsed once.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Parses every template; a broken one is a programming error caught by the tests.
    pub fn new() -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in SOURCES.iter().chain(SMS_SOURCES).chain([&LAYOUT]) {
            env.add_template(name, source)
                .map_err(|e| TemplateError::Render {
                    template: (*name).to_owned(),
                    detail: e.to_string(),
                })?;
        }
        Ok(Self { env })
    }

    /// Renders the SMS text of message `kind` in `language` (English when there is no such
    /// translation) with `data`: one paragraph, whitespace collapsed.
    pub fn render_sms<S: Serialize>(
        &self,
        kind: &str,
        language: &str,
        data: &S,
    ) -> Result<String, TemplateError> {
        let kind = Kind::parse(kind).ok_or_else(|| TemplateError::UnknownKind(kind.to_owned()))?;
        let lang = if LANGUAGES.contains(&language) {
            language
        } else {
            "en"
        };
        let name = format!("{}.{lang}.sms", kind.as_str());
        let fail = |e: minijinja::Error| TemplateError::Render {
            template: name.clone(),
            detail: format!("{e:#}"),
        };
        let t = self
            .env
            .get_template(&name)
            .map_err(|_| TemplateError::UnknownKind(format!("{} (as SMS)", kind.as_str())))?;
        let text = t
            .render(minijinja::Value::from_serialize(data))
            .map_err(fail)?;
        Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Renders message `kind` in `language` (English when there is no such translation)
    /// with `data`.
    pub fn render<S: Serialize>(
        &self,
        kind: &str,
        language: &str,
        data: &S,
    ) -> Result<Rendered, TemplateError> {
        let kind = Kind::parse(kind).ok_or_else(|| TemplateError::UnknownKind(kind.to_owned()))?;
        let lang = if LANGUAGES.contains(&language) {
            language
        } else {
            "en"
        };
        let txt = format!("{}.{lang}.txt", kind.as_str());
        let html = format!("{}.{lang}.html", kind.as_str());
        let fail = |template: &str, e: minijinja::Error| TemplateError::Render {
            template: template.to_owned(),
            detail: format!("{e:#}"),
        };
        let ctx = minijinja::Value::from_serialize(data);
        let t = self.env.get_template(&txt).map_err(|e| fail(&txt, e))?;
        let mut captured = t.render_captured(&ctx).map_err(|e| fail(&txt, e))?;
        let (subject, text) = captured
            .with_state_mut(|state| {
                Ok::<_, minijinja::Error>((
                    state.render_block("subject")?,
                    state.render_block("body")?,
                ))
            })
            .map_err(|e| fail(&txt, e))?;
        let html_body = self
            .env
            .get_template(&html)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| fail(&html, e))?;
        Ok(Rendered {
            // A subject is one line, whatever the data held.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: text.trim().to_owned() + "\n",
            html: html_body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> serde_json::Value {
        json!({
            "organization": "Demo Events",
            "event": {"name": "Rendez-vous Industrie & Innovation", "starts_on": "2027-03-16"},
            "person": {"first_name": "Élodie", "last_name": "Martin <script>"},
            "other": {"first_name": "Jan", "last_name": "Novák", "company": "Acme & Co"},
            "reason": "the fair is full",
            "message": "Shall we talk about <b>pumps</b>?",
            "link": "https://rdv.example/agenda",
            "version": 2,
            "date": "2027-03-16",
            "campaign": {"subject": "Last call", "body": "Dear Élodie,\n\nsee you", "paragraphs": ["Dear Élodie,", "see you"]},
            "consent_url": "https://rdv.example/api/consent/abc",
            "minutes": 60,
            "hours": 72,
            "close_on": "2027-12-30",
            "months": 12,
            "days": 30,
            "meetings": [
                {"when": "16/03 10:20–10:40", "place": "table 12", "with": "Jan Novák (Acme & Co)"},
            ],
            "changes": [
                {"change": "added", "when": "16/03 10:20–10:40", "before": null, "place": "table 12", "with": "Jan Novák (Acme & Co)"},
                {"change": "moved", "when": "16/03 11:00–11:20", "before": "16/03 09:00–09:20", "place": "table 4", "with": "Ana Ruiz (Bombas)"},
                {"change": "cancelled", "when": null, "before": "16/03 14:00–14:20", "place": "table 1", "with": "Li Wei (Valves)"},
            ],
        })
    }

    #[test]
    fn every_kind_renders_in_both_languages() {
        let t = Templates::new().unwrap();
        for kind in Kind::ALL {
            if kind == Kind::PasswordReset || kind == Kind::AccountInactive {
                // To an account, not a person of an organization: no name, no brand.
                for lang in LANGUAGES {
                    let r = t.render(kind.as_str(), lang, &data()).unwrap();
                    assert!(r.text.contains("https://rdv.example/agenda"), "{lang}");
                    assert!(r.html.contains("rdv.example"), "{lang}");
                }
                continue;
            }
            for lang in LANGUAGES {
                let r = t.render(kind.as_str(), lang, &data()).unwrap();
                assert!(
                    !r.subject.is_empty() && !r.subject.contains('\n'),
                    "{kind:?} {lang}"
                );
                assert!(r.text.contains("Élodie"), "{kind:?} {lang}: {}", r.text);
                assert!(r.html.contains("Demo Events"), "{kind:?} {lang}");
                // HTML escapes what the data holds; plain text keeps it as written.
                assert!(!r.html.contains("<script>"), "{kind:?} {lang}");
            }
        }
        let fr = t.render("registration_validated", "fr", &data()).unwrap();
        let en = t.render("registration_validated", "en", &data()).unwrap();
        assert_ne!(fr.subject, en.subject);
        assert!(fr.text.contains("Bonjour"));
        assert!(en.text.contains("Hello"));
    }

    #[test]
    fn the_agenda_change_sms_says_what_changed() {
        let t = Templates::new().unwrap();
        let data = json!({
            "event": {"name": "RII 2027"},
            "changes": [
                {"change": "moved", "before": "14:20", "before_place": "table 12", "when": "15:00", "place": "table 4", "with": "Acme"},
                {"change": "cancelled", "before": "16:00", "before_place": "table 1", "when": null, "place": "table 1", "with": "Valves"},
            ],
        });
        let en = t.render_sms("agenda_changed", "en", &data).unwrap();
        assert_eq!(
            en,
            "RII 2027: 14:20 table 12 with Acme is now 15:00 table 4; 16:00 with Valves is cancelled. Agenda sent by email."
        );
        let fr = t.render_sms("agenda_changed", "fr", &data).unwrap();
        assert!(
            fr.contains("14:20 table 12 avec Acme passe à 15:00 table 4"),
            "{fr}"
        );
        assert!(matches!(
            t.render_sms("registration_validated", "fr", &data),
            Err(TemplateError::UnknownKind(_))
        ));
        let first = t
            .render_sms(
                "reminder",
                "en",
                &json!({"event": {"name": "RII"}, "when": "09:20", "place": "Table 3", "with": "Acme"}),
            )
            .unwrap();
        assert_eq!(
            first,
            "RII: your first meeting today is at 09:20, Table 3, with Acme."
        );
    }

    #[test]
    fn an_unknown_language_falls_back_to_english() {
        let t = Templates::new().unwrap();
        let de = t.render("registration_refused", "de", &data()).unwrap();
        let en = t.render("registration_refused", "en", &data()).unwrap();
        assert_eq!(de, en);
    }

    #[test]
    fn unknown_kinds_and_missing_data_are_errors_not_empty_text() {
        let t = Templates::new().unwrap();
        assert!(matches!(
            t.render("newsletter", "fr", &data()),
            Err(TemplateError::UnknownKind(_))
        ));
        let e = t
            .render(
                "registration_validated",
                "fr",
                &json!({"person": {"first_name": "A"}}),
            )
            .unwrap_err();
        assert!(e.to_string().contains("registration_validated"), "{e}");
    }
}
