//! `tidewatch query` against the real local ClickHouse: each subcommand in each format, with
//! numbers checked against the seed computed here.

mod support;

use clap::Parser;
use support::{scored_all, seed_posts, TestApi};
use tidewatch_api::{run_query, QueryArgs};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    query: QueryArgs,
}

async fn run(api: &TestApi, args: &[&str]) -> Result<String, tidewatch_api::QueryError> {
    let cli = Cli::try_parse_from(std::iter::once("query").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    run_query(&cli.query, &api.store, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

const FROM: &str = "--from=2015-02-23T00:00:00Z";
const TO: &str = "--to=2015-02-25T00:00:00Z";

#[tokio::test]
async fn every_subcommand_prints_every_format() {
    let Some(api) = TestApi::start("cli").await else {
        return;
    };
    let posts = seed_posts(400, 3);
    api.store.insert_posts(&scored_all(&posts)).await.unwrap();
    api.store.insert_posts(&scored_all(&posts)).await.unwrap();
    let acme_posts = posts
        .iter()
        .filter(|post| post.watches.contains(&"acme"))
        .count();

    let csv = run(
        &api,
        &[
            "trends",
            FROM,
            TO,
            "--interval=1d",
            "--watch=acme",
            "--format=csv",
        ],
    )
    .await
    .unwrap();
    let total: u64 = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, acme_posts as u64, "{csv}");
    let json: serde_json::Value = serde_json::from_str(
        &run(
            &api,
            &[
                "trends",
                FROM,
                TO,
                "--interval=1d",
                "--watch=acme",
                "--format=json",
            ],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let from_json: u64 = json["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["posts"].as_u64().unwrap())
        .sum();
    assert_eq!(from_json, acme_posts as u64);
    let table = run(&api, &["trends", FROM, TO, "--interval=1d", "--watch=acme"])
        .await
        .unwrap();
    assert!(table.starts_with("bucket"), "{table}");
    assert_eq!(table.lines().count(), csv.lines().count());

    let page = run(&api, &["posts", FROM, TO, "--limit=5", "--format=json"])
        .await
        .unwrap();
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["posts"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = run(
        &api,
        &[
            "posts",
            FROM,
            TO,
            "--limit=5",
            "--format=csv",
            "--cursor",
            cursor,
        ],
    )
    .await
    .unwrap();
    assert_eq!(next.lines().count(), 6);
    let table = run(&api, &["posts", FROM, TO, "--limit=3"]).await.unwrap();
    assert!(table.contains("next page: --cursor"), "{table}");

    for command in ["stories", "alerts"] {
        for format in ["table", "csv", "json"] {
            let out = run(&api, &[command, FROM, TO, &format!("--format={format}")])
                .await
                .unwrap();
            assert!(!out.is_empty(), "{command} {format}");
        }
    }
    let error = run(&api, &["trends", "--from=2014-01-01T00:00:00Z", TO])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("90 days"), "{error}");
    assert!(run(&api, &["alerts", "--status=closed"]).await.is_err());
}
