//! Signatures of the card provider's webhook calls: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">` in the `Paysim-Signature` header (docs/payment-simulator.md). The check
//! compares in constant time and refuses timestamps outside a tolerance window, so a captured
//! call cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header the provider signs its calls with.
pub const SIGNATURE_HEADER: &str = "Paysim-Signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance window")]
    Stale,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Checks `header` against `body` at `now`; `tolerance_seconds` either side. Several `v1`
/// entries are allowed (a provider rolling its secret signs with both); one must match.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex)) => tags.push(decode_hex(hex).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // The signature first: an unsigned caller learns nothing about the clock.
    let matches = tags
        .iter()
        .any(|tag| mac(secret, timestamp, body).verify_slice(tag).is_ok());
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signed_body_verifies() {
        let body = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(verify(SECRET, &header, body, 1_700_000_100, 300), Ok(()));
    }

    #[test]
    fn a_known_vector_matches_python_hmac() {
        // python3 -c 'import hmac,hashlib;
        //   print(hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(SECRET, 1_700_000_000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn tampering_and_old_calls_are_refused() {
        let body = br#"{"amount":100}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(
            verify(SECRET, &header, br#"{"amount":999}"#, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", &header, body, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, body, 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        // A timestamp moved forward breaks the signature, not only the window.
        let moved = header.replace("t=1700000000", "t=1700000299");
        assert_eq!(
            verify(SECRET, &moved, body, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=zz", "t=1,v1=abc"] {
            assert_eq!(
                verify(SECRET, bad, body, 1, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn one_of_several_signatures_is_enough() {
        let body = b"{}";
        let good = sign(SECRET, 10, body);
        let other = sign(b"old secret", 10, body);
        let header = format!("{other},{}", &good[5..]);
        assert_eq!(verify(SECRET, &header, body, 10, 300), Ok(()));
    }
}
