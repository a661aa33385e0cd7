//! Slack incoming webhook against a local stand-in: every message is valid Block Kit within
//! Slack's limits, and goes to the secret URL from the environment.

mod support;

use support::{action, event, settle, wait_for, Harness, Running};
use tidewatch_alert::slack::{check_block_kit, HEADER_MAX_CHARS, MAX_FIELDS};
use tidewatch_model::{AlertActionKind, AlertState, Severity};

#[tokio::test(start_paused = true)]
async fn slack_messages_are_valid_block_kit_for_the_whole_lifecycle() {
    let harness = Harness::start().await;
    let service = harness.service();
    let running = Running::start(&service);
    let mut firing = event("story-5", AlertState::Firing, Severity::Warning, 60);
    firing.title = "gate agents <@U123> & a very long complaint ".repeat(20);
    firing.terms = (0..800).map(|i| format!("term{i}")).collect();
    service
        .handle_event(&firing, support::ts(60))
        .await
        .unwrap();
    let mut grown = firing.clone();
    grown.state = AlertState::Updated;
    grown.fired_at = support::ts(300);
    grown.severity = Severity::Critical;
    service
        .handle_event(&grown, support::ts(300))
        .await
        .unwrap();
    let ack = action("act-5", "story-5", AlertActionKind::Ack, 400);
    service.handle_action(&ack, support::ts(400)).await.unwrap();
    let mut resolved = grown.clone();
    resolved.state = AlertState::Resolved;
    resolved.fired_at = support::ts(900);
    service
        .handle_event(&resolved, support::ts(900))
        .await
        .unwrap();
    wait_for("four slack messages", || {
        harness.slack.requests().len() == 4
    })
    .await;
    settle().await;
    running.stop().await;

    let requests = harness.slack.requests();
    assert_eq!(requests.len(), 4);
    let headers: Vec<String> = requests
        .iter()
        .map(|request| {
            assert_eq!(request.path, "/services/T000/B000/secret");
            let message = request.json();
            check_block_kit(&message).unwrap_or_else(|error| panic!("{error}: {message}"));
            let blocks = message["blocks"].as_array().unwrap();
            assert_eq!(blocks[0]["type"], "header");
            assert_eq!(blocks[1]["type"], "section");
            assert!(blocks[1]["fields"].as_array().unwrap().len() <= MAX_FIELDS);
            assert_eq!(blocks[2]["type"], "context");
            assert_eq!(
                blocks[3]["elements"][0]["url"],
                "https://tidewatch.test/#/stories/story-5"
            );
            let header = blocks[0]["text"]["text"].as_str().unwrap().to_string();
            assert_eq!(
                header.chars().count(),
                HEADER_MAX_CHARS,
                "long title cut to the limit"
            );
            assert!(
                !blocks[1]["text"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("<@U123>"),
                "escaped"
            );
            header
        })
        .collect();
    assert!(headers[0].contains("Negative story on acme-air"));
    assert!(headers[1].contains("Story growing"));
    assert!(headers[2].contains("Story acknowledged"));
    assert!(headers[3].contains("Story resolved"));
}
