//! The query layer on the local ClickHouse 18.16: every statement of `all_query_sql` runs there
//! (the chdb test runs the same list on current ClickHouse), redelivered alert events and
//! actions are folded, collector health reads the latest check, and `watch_posts` is backfilled
//! by the migration and written by the sink.

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use support::{scored_post, TestDatabase};
use tidewatch_model::{AlertAction, AlertActionKind, AlertEvent, AlertState, Severity};
use tidewatch_store::{all_query_sql, CollectorHealthRow, CollectorStatus, StoryQuery, TimeRange};

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2015-02-23T18:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

fn event(state: AlertState, minutes: i64, posts: u64) -> AlertEvent {
    AlertEvent {
        v: 1,
        story_id: "story-1".into(),
        watch: "acme".into(),
        state,
        severity: Severity::Warning,
        fired_at: at(minutes),
        first_post_at: at(0),
        title: "fleet".into(),
        terms: vec!["fleet".into()],
        posts,
        negative_share: 0.5,
        score: 8.0,
        baseline: 1.0,
        threshold: 6.0,
        post_ids: vec!["mastodon:m1".into()],
        first_post_id: "mastodon:m1".into(),
    }
}

#[tokio::test]
async fn every_query_layer_statement_runs_on_the_local_server() {
    let Some(test) = TestDatabase::create("every_query").await else {
        return;
    };
    let store = test.store();
    store.migrate().await.unwrap();
    store
        .insert_posts(&[scored_post("mastodon", "m1", 0, &["acme"], Some(-0.5))])
        .await
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2015, 2, 20).unwrap();
    let skipped = ["drop database", "ping", "server version"];
    let mut ran = 0;
    for statement in all_query_sql(store.database(), day) {
        if skipped.contains(&statement.name.as_str()) || !statement.in_database {
            continue;
        }
        store
            .client()
            .query(&statement.sql)
            .execute()
            .await
            .unwrap_or_else(|error| {
                panic!("{} fails on the local server: {error}", statement.name)
            });
        ran += 1;
    }
    assert!(ran >= 20, "only {ran} statements ran");
}

#[tokio::test]
async fn alert_events_and_actions_fold_redeliveries_and_health_reads_the_latest() {
    let Some(test) = TestDatabase::create("alerts_fold").await else {
        return;
    };
    let store = test.store();
    store.migrate().await.unwrap();
    let events = [
        event(AlertState::Firing, 5, 10),
        event(AlertState::Updated, 15, 30),
    ];
    for _ in 0..3 {
        store.insert_alert_events(&events).await.unwrap();
    }
    assert_eq!(store.story_events("story-1").await.unwrap().len(), 2);
    let story = store.story("story-1").await.unwrap().expect("story");
    assert_eq!((story.state, story.posts), (AlertState::Updated, 30));
    assert_eq!((story.fired_at, story.last_event_at), (at(5), at(15)));
    store
        .insert_alert_events(&[event(AlertState::Resolved, 15, 30)])
        .await
        .unwrap();
    let story = store.story("story-1").await.unwrap().unwrap();
    assert_eq!(
        story.state,
        AlertState::Resolved,
        "resolved wins a tie in fired_at"
    );
    let everything = TimeRange {
        from: at(-60),
        to: at(60),
    };
    let listed = store
        .stories(&StoryQuery {
            story_ids: vec![],
            watches: vec!["acme".into()],
            states: vec!["resolved".into()],
            severities: vec![],
            range: everything,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let none = store
        .stories(&StoryQuery {
            story_ids: vec![],
            watches: vec!["globex".into()],
            states: vec![],
            severities: vec![],
            range: everything,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    let action = AlertAction {
        v: 1,
        action_id: "a-1".into(),
        story_id: "story-1".into(),
        watch: "acme".into(),
        action: AlertActionKind::Snooze,
        by: "alice".into(),
        at: at(20),
        until: Some(at(80)),
        note: Some("later".into()),
    };
    store
        .insert_alert_actions(&[action.clone(), action.clone()])
        .await
        .unwrap();
    store
        .insert_alert_actions(std::slice::from_ref(&action))
        .await
        .unwrap();
    assert_eq!(
        store.story_actions(&["story-1".into()]).await.unwrap(),
        vec![action]
    );
    let changed = store.changed_stories(0).await.unwrap();
    assert_eq!(
        changed
            .iter()
            .map(|(story, _)| story.as_str())
            .collect::<Vec<_>>(),
        ["story-1"]
    );

    let check = |status, minutes| CollectorHealthRow {
        name: "rss".into(),
        kind: "rss".into(),
        status,
        last_success_at: Some(at(minutes)),
        last_error: None,
        posts_last_hour: 3,
        checked_at: at(minutes),
    };
    store
        .insert_collector_health(&[
            check(CollectorStatus::Ok, 1),
            check(CollectorStatus::Failing, 2),
        ])
        .await
        .unwrap();
    let health = store.collector_health().await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(
        (health[0].status, health[0].checked_at),
        (CollectorStatus::Failing, at(2))
    );
}

#[tokio::test]
async fn watch_posts_are_backfilled_by_the_migration_and_written_by_the_sink() {
    let Some(test) = TestDatabase::create("backfill").await else {
        return;
    };
    let store = test.store();
    store.migrate().await.unwrap();
    store
        .insert_posts(&[scored_post(
            "mastodon",
            "m1",
            0,
            &["acme", "globex", "acme"],
            Some(-0.5),
        )])
        .await
        .unwrap();
    let rows: u64 = store
        .client()
        .query("SELECT count() FROM watch_posts")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(rows, 2, "one row per distinct watch");
    // A database migrated before watch_posts existed: drop it and run migration 2 again.
    store
        .client()
        .query("DROP TABLE watch_posts")
        .execute()
        .await
        .unwrap();
    store
        .client()
        .query("ALTER TABLE schema_migrations DELETE WHERE version = 2")
        .execute()
        .await
        .ok();
    for statement in tidewatch_store::MIGRATIONS[1].statements {
        store.client().query(statement).execute().await.unwrap();
    }
    let watches: Vec<String> = store
        .client()
        .query("SELECT DISTINCT watch FROM watch_posts ORDER BY watch")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(watches, ["acme", "globex"]);
    assert_eq!(store.watches().await.unwrap(), ["acme", "globex"]);
}
