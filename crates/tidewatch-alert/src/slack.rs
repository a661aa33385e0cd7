//! Slack incoming-webhook messages in Block Kit (pure), and a checker of Block Kit's limits.
//!
//! Guarantees:
//! * Every message rendered by [`message_body`] passes [`check_block_kit`]: a `text` fallback,
//!   at most 50 blocks; a `header` with `plain_text` of at most 150 characters; `section`s with
//!   `mrkdwn` text of at most 3000 characters and at most 10 fields of at most 2000 characters
//!   each; a `context` with at most 10 elements; an `actions` button with text of at most 75
//!   characters and a URL of at most 3000. Long titles and term lists are cut on a character
//!   boundary with `…`, never rejected by Slack.
//! * Text from the story (title, terms, notes) is escaped for mrkdwn (`&`, `<`, `>`), so a title
//!   cannot inject links or mentions.
//! * Incoming webhooks cannot edit a message, so updates, resolves and people's actions are new
//!   messages naming the story id.

use serde_json::{json, Value};
use tidewatch_model::{AlertAction, AlertEvent, Severity};

use crate::notification::SlackMessageKind;

pub const HEADER_MAX_CHARS: usize = 150;
pub const SECTION_TEXT_MAX_CHARS: usize = 3000;
pub const FIELD_MAX_CHARS: usize = 2000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_BLOCKS: usize = 50;
pub const BUTTON_TEXT_MAX_CHARS: usize = 75;
pub const URL_MAX_CHARS: usize = 3000;

/// `text` cut to at most `max` characters, ending with `…` when cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Escapes the three characters Slack's mrkdwn treats as markup.
pub fn escape_mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn headline(kind: SlackMessageKind, event: &AlertEvent) -> String {
    let icon = match (kind, event.severity) {
        (SlackMessageKind::Resolved | SlackMessageKind::ResolvedByPerson, _) => "✅",
        (SlackMessageKind::Acknowledged, _) => "👀",
        (SlackMessageKind::Snoozed | SlackMessageKind::Unsnoozed, _) => "💤",
        (_, Severity::Critical) => "🔴",
        (_, Severity::Warning) => "🟠",
        (_, Severity::Info) => "🔵",
    };
    let label = match kind {
        SlackMessageKind::Fired => "Negative story",
        SlackMessageKind::Updated => "Story growing",
        SlackMessageKind::FiringAgain => "Story firing again",
        SlackMessageKind::Resolved => "Story resolved",
        SlackMessageKind::Acknowledged => "Story acknowledged",
        SlackMessageKind::ResolvedByPerson => "Story resolved by hand",
        SlackMessageKind::Snoozed => "Story snoozed",
        SlackMessageKind::Unsnoozed => "Story unsnoozed",
    };
    format!("{icon} {label} on {}: {}", event.watch, event.title)
}

fn field(label: &str, value: &str) -> Value {
    let text = format!("*{label}*\n{}", escape_mrkdwn(value));
    json!({ "type": "mrkdwn", "text": truncate_chars(&text, FIELD_MAX_CHARS) })
}

fn action_line(action: &AlertAction) -> String {
    let mut line = format!(
        "{} by {} at {}",
        action.action.as_str(),
        action.by,
        action.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    if let Some(until) = action.until {
        line.push_str(&format!(
            ", until {}",
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    if let Some(note) = &action.note {
        line.push_str(&format!(": {note}"));
    }
    line
}

/// The incoming-webhook JSON for one message about the story of `event`.
pub fn message_body(
    kind: SlackMessageKind,
    event: &AlertEvent,
    action: Option<&AlertAction>,
    story_link: Option<&str>,
) -> Value {
    let title = headline(kind, event);
    let terms = event.terms.join(", ");
    let fields = vec![
        field("Watch", &event.watch),
        field("Severity", crate::pagerduty::severity(event.severity)),
        field("Posts", &event.posts.to_string()),
        field(
            "Negative share",
            &format!("{:.0}%", event.negative_share * 100.0),
        ),
        field(
            "Score / threshold",
            &format!("{:.1} / {:.1}", event.score, event.threshold),
        ),
        field("Baseline", &format!("{:.2}", event.baseline)),
        field(
            "Fired at",
            &event
                .fired_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        field("First post", &event.first_post_id),
    ];
    let mut section_text = format!("*Terms:* {}", escape_mrkdwn(&terms));
    if let Some(action) = action {
        section_text = format!("*{}*\n{section_text}", escape_mrkdwn(&action_line(action)));
    }
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate_chars(&title, HEADER_MAX_CHARS), "emoji": true },
        }),
        json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate_chars(&section_text, SECTION_TEXT_MAX_CHARS) },
            "fields": fields,
        }),
        json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": truncate_chars(&format!("story `{}` · tidewatch", escape_mrkdwn(&event.story_id)), SECTION_TEXT_MAX_CHARS) }],
        }),
    ];
    if let Some(link) = story_link.filter(|link| link.chars().count() <= URL_MAX_CHARS) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open story" },
                "url": link,
                "action_id": "open_story",
            }],
        }));
    }
    json!({ "text": truncate_chars(&title, SECTION_TEXT_MAX_CHARS), "blocks": blocks })
}

fn text_of<'a>(object: &'a Value, what: &str) -> Result<&'a str, String> {
    object["text"]
        .as_str()
        .ok_or_else(|| format!("{what}: missing text"))
}

fn check_text_object(object: &Value, what: &str, types: &[&str], max: usize) -> Result<(), String> {
    let kind = object["type"].as_str().unwrap_or_default();
    if !types.contains(&kind) {
        return Err(format!("{what}: text type {kind:?} not one of {types:?}"));
    }
    let text = text_of(object, what)?;
    let length = text.chars().count();
    if length == 0 || length > max {
        return Err(format!("{what}: text of {length} characters (1..={max})"));
    }
    Ok(())
}

/// Checks a message against the Block Kit structure and limits this module relies on.
pub fn check_block_kit(message: &Value) -> Result<(), String> {
    text_of(message, "message")?;
    let blocks = message["blocks"]
        .as_array()
        .ok_or("message: blocks is not an array")?;
    if blocks.is_empty() || blocks.len() > MAX_BLOCKS {
        return Err(format!(
            "message: {} blocks (1..={MAX_BLOCKS})",
            blocks.len()
        ));
    }
    for (index, block) in blocks.iter().enumerate() {
        let what = format!("blocks[{index}]");
        match block["type"].as_str() {
            Some("header") => {
                check_text_object(&block["text"], &what, &["plain_text"], HEADER_MAX_CHARS)?
            }
            Some("section") => check_section(block, &what)?,
            Some("context") => {
                let elements = block["elements"]
                    .as_array()
                    .ok_or(format!("{what}: no elements"))?;
                if elements.is_empty() || elements.len() > MAX_CONTEXT_ELEMENTS {
                    return Err(format!("{what}: {} context elements", elements.len()));
                }
                for element in elements {
                    check_text_object(
                        element,
                        &what,
                        &["mrkdwn", "plain_text"],
                        SECTION_TEXT_MAX_CHARS,
                    )?;
                }
            }
            Some("actions") => check_actions(block, &what)?,
            Some("divider") => {}
            other => return Err(format!("{what}: unexpected block type {other:?}")),
        }
    }
    Ok(())
}

fn check_section(block: &Value, what: &str) -> Result<(), String> {
    let has_text = !block["text"].is_null();
    if has_text {
        check_text_object(
            &block["text"],
            what,
            &["mrkdwn", "plain_text"],
            SECTION_TEXT_MAX_CHARS,
        )?;
    }
    let fields = block["fields"].as_array();
    if let Some(fields) = fields {
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            return Err(format!(
                "{what}: {} fields (1..={MAX_FIELDS})",
                fields.len()
            ));
        }
        for field in fields {
            check_text_object(field, what, &["mrkdwn", "plain_text"], FIELD_MAX_CHARS)?;
        }
    }
    if !has_text && fields.is_none() {
        return Err(format!("{what}: a section needs text or fields"));
    }
    Ok(())
}

fn check_actions(block: &Value, what: &str) -> Result<(), String> {
    let elements = block["elements"]
        .as_array()
        .ok_or(format!("{what}: no elements"))?;
    if elements.is_empty() || elements.len() > 25 {
        return Err(format!("{what}: {} action elements", elements.len()));
    }
    for element in elements {
        if element["type"] != "button" {
            return Err(format!("{what}: unexpected element {:?}", element["type"]));
        }
        check_text_object(
            &element["text"],
            what,
            &["plain_text"],
            BUTTON_TEXT_MAX_CHARS,
        )?;
        let url = element["url"].as_str().unwrap_or_default();
        if url.chars().count() > URL_MAX_CHARS {
            return Err(format!("{what}: button url too long"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::event;
    use tidewatch_model::{AlertActionKind, AlertState};

    #[test]
    fn long_titles_and_terms_stay_within_limits() {
        let mut alert = event("s1", "acme", AlertState::Firing, Severity::Critical, 0);
        alert.title = "delayed <!channel> & ".repeat(100);
        alert.terms = (0..2000).map(|i| format!("term{i}")).collect();
        alert.first_post_id = "x".repeat(5000);
        for kind in [SlackMessageKind::Fired, SlackMessageKind::Resolved] {
            let body = message_body(kind, &alert, None, Some("https://tw.test/#/stories/s1"));
            check_block_kit(&body).unwrap();
            let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
            assert_eq!(header.chars().count(), HEADER_MAX_CHARS);
            let section = body["blocks"][1]["text"]["text"].as_str().unwrap();
            assert!(!section.contains('<'), "mrkdwn escaped");
        }
    }

    #[test]
    fn action_messages_name_who_and_what() {
        let alert = event("s1", "acme", AlertState::Updated, Severity::Warning, 0);
        let action = AlertAction {
            v: 1,
            action_id: "a1".into(),
            story_id: "s1".into(),
            watch: "acme".into(),
            action: AlertActionKind::Ack,
            by: "alice".into(),
            at: alert.fired_at,
            until: None,
            note: Some("looking".into()),
        };
        let body = message_body(SlackMessageKind::Acknowledged, &alert, Some(&action), None);
        check_block_kit(&body).unwrap();
        let section = body["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(
            section.starts_with("*ack by alice at 2026-11-23T00:00:00Z: looking*"),
            "{section}"
        );
        assert_eq!(
            body["blocks"].as_array().unwrap().len(),
            3,
            "no link, no button"
        );
    }

    #[test]
    fn the_checker_rejects_what_slack_rejects() {
        let too_many_fields = json!({"text": "t", "blocks": [{"type": "section",
            "fields": (0..11).map(|_| json!({"type": "mrkdwn", "text": "x"})).collect::<Vec<_>>()}]});
        assert!(check_block_kit(&too_many_fields)
            .unwrap_err()
            .contains("11 fields"));
        let long_header = json!({"text": "t", "blocks": [{"type": "header",
            "text": {"type": "plain_text", "text": "h".repeat(151)}}]});
        assert!(check_block_kit(&long_header).is_err());
        let mrkdwn_header = json!({"text": "t", "blocks": [{"type": "header",
            "text": {"type": "mrkdwn", "text": "h"}}]});
        assert!(check_block_kit(&mrkdwn_header).is_err());
        assert!(check_block_kit(&json!({"blocks": []})).is_err());
    }
}
