//! `tidewatch query`: trends, posts, stories and alerts from the command line, as a table, CSV
//! or JSON.
//!
//! Guarantees: the command line is turned into the same parameters the HTTP API takes, and
//! parsed by the same code, so every filter, default and bound (range ≤ 90 days, page size ≤
//! 1000, RFC 3339 times) is identical and a bad value fails with the API's message; output goes
//! to the writer given, nothing else is printed.

use std::io::Write;

use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use tidewatch_store::{PostCursor, PostQuery, PostStore, StoryQuery};

use crate::config::{DEFAULT_MAX_PAGE_SIZE, DEFAULT_MAX_RANGE_DAYS};
use crate::error::ApiError;
use crate::params::{Params, SEVERITIES, STORY_STATES};
use crate::query_output;
use crate::routes::alerts::{alert_list, parse_statuses};
use crate::routes::analytics::trend_query;

/// Arguments of `tidewatch query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    #[command(subcommand)]
    pub command: QueryCommand,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub format: QueryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
}

/// Time range and exact-match filters shared by the subcommands (repeat or comma-separate).
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// RFC 3339 start; default: `to` minus 24 hours.
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 end; default: now.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub watch: Vec<String>,
    #[arg(long)]
    pub source: Vec<String>,
    #[arg(long)]
    pub language: Vec<String>,
    #[arg(long)]
    pub label: Vec<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum QueryCommand {
    /// Volume and sentiment per bucket and group.
    Trends {
        #[command(flatten)]
        filters: FilterArgs,
        /// 1m, 5m, 15m, 1h or 1d; the API's default (5m).
        #[arg(long, default_value = "5m")]
        interval: String,
        /// watch, source, language or label.
        #[arg(long, default_value = "watch")]
        group_by: String,
    },
    /// Posts, newest first.
    Posts {
        #[command(flatten)]
        filters: FilterArgs,
        /// Case-insensitive substring of the text.
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// `next_cursor` of a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Stories from alert events, most recently active first.
    Stories {
        #[command(flatten)]
        filters: FilterArgs,
        /// firing, updated or resolved.
        #[arg(long)]
        state: Vec<String>,
        #[arg(long)]
        severity: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Alerts with their handling status.
    Alerts {
        #[command(flatten)]
        filters: FilterArgs,
        /// open, acknowledged, snoozed or resolved.
        #[arg(long)]
        status: Vec<String>,
        #[arg(long)]
        severity: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A bad argument (fatal) or a database error (see `ApiError::status`: 503 is retryable).
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("could not write the output: {0}")]
    Io(#[from] std::io::Error),
}

fn push_all(pairs: &mut Vec<(String, String)>, name: &str, values: &[String]) {
    pairs.extend(values.iter().map(|value| (name.to_string(), value.clone())));
}

fn filter_pairs(filters: &FilterArgs) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (name, value) in [("from", &filters.from), ("to", &filters.to)] {
        if let Some(value) = value {
            pairs.push((name.to_string(), value.clone()));
        }
    }
    push_all(&mut pairs, "watch", &filters.watch);
    push_all(&mut pairs, "source", &filters.source);
    push_all(&mut pairs, "language", &filters.language);
    push_all(&mut pairs, "label", &filters.label);
    pairs
}

/// Runs one `tidewatch query` command against `store`, writing to `out`.
pub async fn run_query(
    args: &QueryArgs,
    store: &PostStore,
    mut out: impl Write,
) -> Result<(), QueryError> {
    let now = Utc::now();
    match &args.command {
        QueryCommand::Trends {
            filters,
            interval,
            group_by,
        } => {
            let mut pairs = filter_pairs(filters);
            pairs.push(("interval".into(), interval.clone()));
            pairs.push(("group_by".into(), group_by.clone()));
            let request = trend_query(&Params::from_pairs(pairs), DEFAULT_MAX_RANGE_DAYS, now)?;
            let buckets = store.trends(&request).await.map_err(ApiError::from)?;
            query_output::write_trends(&mut out, args.format, &buckets)?;
        }
        QueryCommand::Posts {
            filters,
            q,
            limit,
            cursor,
        } => {
            let mut pairs = filter_pairs(filters);
            pairs.push(("limit".into(), limit.to_string()));
            let params = Params::from_pairs(pairs);
            let cursor = cursor
                .as_deref()
                .map(PostCursor::decode)
                .transpose()
                .map_err(|error| ApiError::BadRequest(error.to_string()))?;
            let request = PostQuery {
                range: params.range(now, DEFAULT_MAX_RANGE_DAYS)?,
                filter: params.post_filter()?,
                text: q.clone().unwrap_or_default(),
                limit: params.limit(DEFAULT_MAX_PAGE_SIZE)?,
                cursor,
            };
            let mut page = store.search_posts(&request).await.map_err(ApiError::from)?;
            crate::safe_url::strip_unsafe_urls(&mut page.posts);
            query_output::write_posts(&mut out, args.format, &page)?;
        }
        QueryCommand::Stories {
            filters,
            state,
            severity,
            limit,
        } => {
            let mut pairs = filter_pairs(filters);
            pairs.push(("limit".into(), limit.to_string()));
            push_all(&mut pairs, "state", state);
            push_all(&mut pairs, "severity", severity);
            let params = Params::from_pairs(pairs);
            let request = StoryQuery {
                story_ids: Vec::new(),
                watches: params.list("watch")?,
                states: params.enum_list("state", STORY_STATES)?,
                severities: params.enum_list("severity", SEVERITIES)?,
                range: params.range(now, DEFAULT_MAX_RANGE_DAYS)?,
                limit: params.limit(DEFAULT_MAX_PAGE_SIZE)?,
            };
            let stories = store.stories(&request).await.map_err(ApiError::from)?;
            query_output::write_stories(&mut out, args.format, &stories)?;
        }
        QueryCommand::Alerts {
            filters,
            status,
            severity,
            limit,
        } => {
            let mut pairs = filter_pairs(filters);
            pairs.push(("limit".into(), limit.to_string()));
            push_all(&mut pairs, "status", status);
            push_all(&mut pairs, "severity", severity);
            let params = Params::from_pairs(pairs);
            let range = params.range(now, DEFAULT_MAX_RANGE_DAYS)?;
            let alerts = alert_list(
                store,
                &parse_statuses(&params.list("status")?)?,
                params.list("watch")?,
                params.enum_list("severity", SEVERITIES)?,
                range,
                params.limit(DEFAULT_MAX_PAGE_SIZE)?,
                now,
            )
            .await?;
            query_output::write_alerts(&mut out, args.format, &alerts)?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        query: QueryArgs,
    }

    #[test]
    fn parses_subcommands_and_filters() {
        let cli = Cli::try_parse_from([
            "query",
            "trends",
            "--watch",
            "acme,globex",
            "--interval",
            "5m",
            "--format",
            "csv",
        ])
        .unwrap();
        assert_eq!(cli.query.format, QueryFormat::Csv);
        let QueryCommand::Trends {
            filters, interval, ..
        } = &cli.query.command
        else {
            panic!("not trends");
        };
        assert_eq!(interval, "5m");
        let params = Params::from_pairs(filter_pairs(filters));
        assert_eq!(params.list("watch").unwrap(), ["acme", "globex"]);
        assert!(Cli::try_parse_from(["query", "posts", "--limit", "x"]).is_err());
    }

    #[test]
    fn bad_values_fail_like_the_api() {
        let pairs = vec![("interval".to_string(), "2m".to_string())];
        let error = trend_query(&Params::from_pairs(pairs), 90, Utc::now()).unwrap_err();
        assert!(matches!(error, ApiError::BadRequest(_)));
    }
}
