//! SMS texts counted the way the network counts them: GSM-7 (the GSM 03.38 default alphabet,
//! 160 septets in one message, 153 per part of a concatenated one, the extension characters
//! taking two) when every character has a GSM-7 code, else UCS-2 (70 UTF-16 units, 67 per
//! part). A text over the allowed number of parts is shortened at a word boundary, never in
//! the middle of a word.

/// The GSM 03.38 default alphabet (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (an escape and the character: two septets each).
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How the network will carry a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Messages it takes (0 for an empty text).
    pub parts: usize,
}

fn gsm7_width(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts `text`: its encoding, its units and the messages it takes. Concatenated parts never
/// split an extension character's escape from it, nor a surrogate pair.
pub fn count(text: &str) -> Count {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_width).collect();
    let (encoding, widths, single, part) = match gsm {
        Some(w) => (Encoding::Gsm7, w, 160, 153),
        None => (
            Encoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let units: usize = widths.iter().sum();
    let parts = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        let mut parts = 1;
        let mut used = 0;
        for w in widths {
            if used + w > part {
                parts += 1;
                used = 0;
            }
            used += w;
        }
        parts
    };
    Count {
        encoding,
        units,
        parts,
    }
}

/// `text` within `max_parts` messages: unchanged when it fits, else cut after the last whole
/// word that leaves room for an ellipsis ("..." in GSM-7, which has no "…"). A first word
/// longer than the whole allowance is cut where it must be.
pub fn shorten(text: &str, max_parts: usize) -> String {
    let max_parts = max_parts.max(1);
    if count(text).parts <= max_parts {
        return text.to_owned();
    }
    let ellipsis = match count(text).encoding {
        Encoding::Gsm7 => "...",
        Encoding::Ucs2 => "…",
    };
    let fits = |prefix: &str| count(&format!("{prefix}{ellipsis}")).parts <= max_parts;
    // Word boundaries: the positions just before each whitespace.
    let mut best: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            let prefix = text[..i].trim_end();
            if !prefix.is_empty() && fits(prefix) {
                best = Some(prefix.len());
            } else if !prefix.is_empty() {
                break;
            }
        }
    }
    let cut = match best {
        Some(end) => &text[..end],
        None => {
            // One word longer than everything allowed: cut it at a character boundary.
            let mut end = 0;
            for (i, c) in text.char_indices() {
                if !fits(&text[..i + c.len_utf8()]) {
                    break;
                }
                end = i + c.len_utf8();
            }
            &text[..end]
        }
    };
    format!("{cut}{ellipsis}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(enabled: bool) -> Gateway {
        Gateway::new(&SmsSettings {
            enabled,
            // Nothing listens on port 9.
            sendsms_url: "http://127.0.0.1:9/cgi-bin/sendsms".into(),
            username: "u".into(),
            password: "p".to_owned().into(),
            sender: "RDV".into(),
            max_parts: 2,
            timeout_seconds: 2,
        })
        .unwrap()
    }

    #[test]
    fn bad_numbers_and_a_disabled_gateway_fail_for_good_an_unreachable_one_for_now() {
        use crate::SendError::{Permanent, Temporary};
        let g = gateway(true);
        for bad in ["0612345678", "+33 6 12 34 56 78", "+1", ""] {
            assert!(
                matches!(g.send(bad, "hello", "http://x/dlr"), Err(Permanent(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            g.send("+33612345678", "hello", "http://x/dlr"),
            Err(Temporary(_))
        ));
        assert!(matches!(
            gateway(false).send("+33612345678", "hello", "http://x/dlr"),
            Err(Permanent(_))
        ));
    }
    use proptest::prelude::*;

    #[test]
    fn gsm7_texts_count_septets_and_extension_characters_twice() {
        let c = count("14:20 table 12 avec Acme");
        assert_eq!((c.encoding, c.units, c.parts), (Encoding::Gsm7, 24, 1));
        assert_eq!(count("{€}").units, 6);
        assert_eq!(count(&"a".repeat(160)).parts, 1);
        assert_eq!(count(&"a".repeat(161)).parts, 2);
        assert_eq!(count(&"a".repeat(306)).parts, 2);
        assert_eq!(count(&"a".repeat(307)).parts, 3);
        // An escape and its character stay in one part: 152 septets then a € make two parts.
        let s = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(count(&s).parts, 2);
        assert_eq!(count("").parts, 0);
    }

    #[test]
    fn anything_outside_gsm7_makes_the_whole_text_ucs2() {
        let c = count("Réunion avec Łukasz");
        assert_eq!(c.encoding, Encoding::Ucs2);
        assert_eq!(c.units, 19);
        assert_eq!(count(&"ł".repeat(70)).parts, 1);
        assert_eq!(count(&"ł".repeat(71)).parts, 2);
        // An emoji is a surrogate pair: two units.
        assert_eq!(count("🙂").units, 2);
    }

    #[test]
    fn long_texts_are_shortened_at_a_word_boundary() {
        let text = "14:20 table 12 avec Acme devient 15:00 table 4. ".repeat(10);
        let short = shorten(&text, 1);
        assert!(count(&short).parts <= 1, "{short}");
        assert!(short.ends_with("..."));
        let kept = short.trim_end_matches("...");
        assert!(text.starts_with(kept));
        // The cut falls between two words.
        assert!(text[kept.len()..].starts_with(' '), "{short}");
        assert_eq!(shorten("court", 1), "court");
    }

    proptest! {
        #[test]
        fn a_shortened_text_always_fits_and_starts_the_original(
            text in "[a-zA-Zé€ł🙂 ]{0,600}",
            parts in 1usize..4,
        ) {
            let short = shorten(&text, parts);
            prop_assert!(count(&short).parts <= parts);
            let kept = short.trim_end_matches("...").trim_end_matches('…');
            prop_assert!(text.starts_with(kept));
        }
    }
}

/// The `[sms]` settings: Kannel's HTTP sendsms interface.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SmsSettings {
    /// Send SMS at all; without a gateway, SMS messages fail with that reason.
    pub enabled: bool,
    /// smsbox's sendsms URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub sendsms_url: String,
    /// A `sendsms-user` of smsbox.
    pub username: String,
    pub password: secrecy::SecretString,
    /// The sender shown on phones: up to 11 letters and digits, or a number.
    pub sender: String,
    /// Parts a text may take (concatenated SMS); a longer one is shortened.
    pub max_parts: usize,
    pub timeout_seconds: u64,
}

/// What the gateway answered when it took an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub reply: String,
}

/// An SMS gateway reached through Kannel's HTTP sendsms interface.
pub struct Gateway {
    agent: ureq::Agent,
    settings: SmsSettings,
}

/// The delivery-report types Kannel asks for (`dlr-mask`): delivered to the phone (1), not
/// delivered (2), queued at the SMSC (4), accepted (8) and rejected (16) by the SMSC.
pub const DLR_MASK: u8 = 31;

impl Gateway {
    pub fn new(settings: &SmsSettings) -> Result<Self, crate::SendError> {
        // Connections are kept alive between messages, as smsbox allows.
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(settings.timeout_seconds))
            .build();
        Ok(Self {
            agent,
            settings: settings.clone(),
        })
    }

    /// The most parts a text may take.
    pub fn max_parts(&self) -> usize {
        self.settings.max_parts.max(1)
    }

    /// Hands `text` for the E.164 number `to` to the gateway, asking for delivery reports
    /// on `dlr_url` (where Kannel replaces `%d` with the report's type). The text goes as
    /// UTF-8; Kannel encodes it as GSM-7 or, when it needs to, UCS-2 (`coding=2`).
    pub fn send(&self, to: &str, text: &str, dlr_url: &str) -> Result<Accepted, crate::SendError> {
        use crate::SendError::{Permanent, Temporary};
        use secrecy::ExposeSecret;
        if !self.settings.enabled {
            return Err(Permanent(
                "no SMS gateway is configured on this platform".into(),
            ));
        }
        if !to.starts_with('+') || to.len() < 8 || !to[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Permanent(format!("`{to}` is not an E.164 number")));
        }
        let coding = match count(text).encoding {
            Encoding::Gsm7 => "0",
            Encoding::Ucs2 => "2",
        };
        let parts = count(text).parts.max(1).to_string();
        let dlr_mask = DLR_MASK.to_string();
        let request = self.agent.get(&self.settings.sendsms_url).query_pairs([
            ("username", self.settings.username.as_str()),
            ("password", self.settings.password.expose_secret()),
            ("from", self.settings.sender.as_str()),
            ("to", to),
            ("text", text),
            ("charset", "UTF-8"),
            ("coding", coding),
            ("max-messages", parts.as_str()),
            ("dlr-mask", dlr_mask.as_str()),
            ("dlr-url", dlr_url),
        ]);
        let (status, response) = match request.call() {
            Ok(r) => (r.status(), r),
            Err(ureq::Error::Status(code, r)) => (code, r),
            Err(e) => return Err(Temporary(format!("SMS gateway unreachable: {e}"))),
        };
        let body = response
            .into_string()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(500)
            .collect::<String>();
        let reply = format!("{status} {body}");
        // smsbox answers 202 "0: Accepted for delivery" (or "3: Queued for later delivery");
        // 4xx are refusals of this request (bad number, authorization), 5xx the gateway's
        // trouble.
        match status {
            200..=299 => Ok(Accepted { reply }),
            429 | 500..=599 => Err(Temporary(reply)),
            _ => Err(Permanent(reply)),
        }
    }
}
