//! Short-lived tickets that open the alert stream, so the API token never goes into a URL.
//!
//! Browsers' `EventSource` cannot send an `Authorization` header, and a token in the query
//! string ends up in proxy and server logs. The dashboard therefore asks
//! `POST /api/v1/stream-ticket` (with its bearer token) for a ticket and opens
//! `/api/v1/alerts/stream?ticket=…`.
//!
//! Guarantees: a ticket names no token and contains no secret a log reader could reuse for
//! anything but opening a stream, for at most [`TICKET_LIFETIME_SECONDS`]; it is
//! `expiry.token_id.mac`, where `token_id` is the first 16 hex digits of the token's configured
//! SHA-256 and `mac` an HMAC-SHA256 of `expiry.token_id` keyed by that whole hash. Verification
//! is stateless (every replica with the same `[api]` config accepts the tickets of any other)
//! and constant-time; an expired, altered or foreign ticket, or one of a token since removed
//! from the config, is refused. An open stream is not cut when its ticket expires: the ticket
//! only opens it. Whoever can read the config's hashes could mint a ticket, which opens only
//! the read-only stream: the config is an operator's file.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::state::Principal;

pub(crate) const TICKET_LIFETIME_SECONDS: i64 = 60;
const TOKEN_ID_DIGITS: usize = 16;
/// How far ahead of this replica's clock another replica's may be.
const CLOCK_SKEW_SECONDS: i64 = 30;

fn mac_of(token_sha256: &str, signed: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(token_sha256.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"tidewatch alert stream ticket\n");
    mac.update(signed.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

/// A ticket for the token whose configured hash is `token_sha256`, valid until
/// `now + TICKET_LIFETIME_SECONDS` (unix seconds).
pub(crate) fn issue(token_sha256: &str, now: i64) -> String {
    let token_sha256 = token_sha256.to_ascii_lowercase();
    let expiry = now + TICKET_LIFETIME_SECONDS;
    let token_id = &token_sha256[..TOKEN_ID_DIGITS.min(token_sha256.len())];
    let signed = format!("{expiry}.{token_id}");
    let mac = mac_of(&token_sha256, &signed).finalize().into_bytes();
    format!("{signed}.{}", hex(&mac))
}

/// The principal a ticket was issued to, if it is intact, unexpired at `now` and its token is
/// still configured (`principals`: lowercase SHA-256 hex → principal).
pub(crate) fn verify<'a>(
    ticket: &str,
    principals: &'a HashMap<String, Principal>,
    now: i64,
) -> Option<&'a Principal> {
    let (signed, mac_hex) = ticket.trim().rsplit_once('.')?;
    let (expiry, token_id) = signed.split_once('.')?;
    let expiry: i64 = expiry.parse().ok()?;
    if now > expiry || expiry > now + TICKET_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS {
        return None;
    }
    if token_id.len() != TOKEN_ID_DIGITS {
        return None;
    }
    let mac = unhex(mac_hex)?;
    principals
        .iter()
        .filter(|(hash, _)| hash.starts_with(token_id))
        .find(|(hash, _)| mac_of(hash, signed).verify_slice(&mac).is_ok())
        .map(|(_, principal)| principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{sha256_hex, Role};

    const NOW: i64 = 1_800_000_000;

    fn principals() -> HashMap<String, Principal> {
        ["alice", "bob"]
            .into_iter()
            .map(|name| {
                (
                    sha256_hex(&format!("token-of-{name}")),
                    Principal {
                        name: name.to_string(),
                        role: Role::Viewer,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_ticket_opens_for_its_token_until_it_expires() {
        let principals = principals();
        let ticket = issue(&sha256_hex("token-of-alice"), NOW);
        assert!(!ticket.contains("token-of-alice"));
        assert!(!ticket.contains(&sha256_hex("token-of-alice")));
        let who = verify(&ticket, &principals, NOW + 5).expect("a fresh ticket");
        assert_eq!(who.name, "alice");
        assert!(verify(&ticket, &principals, NOW + TICKET_LIFETIME_SECONDS).is_some());
        assert!(verify(&ticket, &principals, NOW + TICKET_LIFETIME_SECONDS + 1).is_none());
    }

    #[test]
    fn altered_foreign_and_revoked_tickets_are_refused() {
        let principals = principals();
        let ticket = issue(&sha256_hex("token-of-alice"), NOW);
        let (signed, mac) = ticket.rsplit_once('.').unwrap();
        let (_, token_id) = signed.split_once('.').unwrap();
        // A later expiry with the old MAC.
        let extended = format!("{}.{token_id}.{mac}", NOW + 3_600);
        assert!(verify(&extended, &principals, NOW).is_none());
        // Bob's id with Alice's MAC.
        let bob_id = &sha256_hex("token-of-bob")[..16];
        assert!(verify(&format!("{}.{bob_id}.{mac}", NOW + 60), &principals, NOW).is_none());
        // A token no longer configured.
        let carol = issue(&sha256_hex("token-of-carol"), NOW);
        assert!(verify(&carol, &principals, NOW).is_none());
        for garbage in [
            "",
            "x",
            "1.2.3",
            "..",
            &format!("{signed}.zz"),
            &ticket[..ticket.len() - 1],
        ] {
            assert!(verify(garbage, &principals, NOW).is_none(), "{garbage:?}");
        }
    }
}
