//! Exact counts over live posts, and retention by daily partition.
//!
//! Guarantees:
//! * a post counts once however many times it was delivered, whether or not ClickHouse has
//!   merged the duplicates yet: every query groups by the post key `(source, source_id)` and
//!   reads the latest delivery's values with `argMax(…, version)` (never plain `count()` on
//!   `posts`, never a reliance on background merges);
//! * a post with a tombstone in `post_deletes` is in no result, whichever order the post and its
//!   delete arrived in and whichever partitions they fell into;
//! * a post listing a watch twice counts once for it (`uniqExact` on the key after `ARRAY JOIN`);
//! * retention drops whole daily partitions of `posts`, only days strictly before
//!   `today − days`, so no post younger than `days` days is ever dropped; tombstones are kept.
//!
//! Every statement here runs on ClickHouse 18.16 and on current ClickHouse.

use chrono::{Datelike, Days, NaiveDate};
use clickhouse::sql::Identifier;

use crate::cluster::{
    cluster_alter_statement, cluster_migration_statements, on_cluster, LOCAL_TABLE_SUFFIX,
};
use crate::error::StoreError;
use crate::rollup::{DROP_ROLLUP_PARTITION, DROP_ROLLUP_TOTALS_PARTITION};
use crate::schema::POSTS_TABLE;
use crate::store::PostStore;

/// The condition that keeps deleted posts out of every result.
pub const NOT_DELETED_CONDITION: &str =
    "(source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)";

const COUNT_LIVE_POSTS: &str = "
SELECT uniqExact(source, source_id)
FROM posts
WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)";

const COUNT_LIVE_POSTS_BY_WATCH: &str = "
SELECT watch, uniqExact(source, source_id) AS live_posts
FROM (
    SELECT source, source_id, argMax(watches, version) AS latest_watches
    FROM posts
    WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id
)
ARRAY JOIN latest_watches AS watch
GROUP BY watch
ORDER BY watch";

const COUNT_LIVE_POSTS_BY_LABEL: &str = "
SELECT latest_label, count() AS live_posts
FROM (
    SELECT argMax(label, version) AS latest_label
    FROM posts
    WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id
)
GROUP BY latest_label
ORDER BY latest_label";

const LIST_ACTIVE_PARTITIONS: &str = "
SELECT DISTINCT partition
FROM system.parts
WHERE database = ? AND table = ? AND active
ORDER BY partition";

/// The same on every shard (one replica each) of the bound cluster, for the local table.
const LIST_ACTIVE_PARTITIONS_ON_CLUSTER: &str = "
SELECT DISTINCT partition
FROM cluster(?, system.parts)
WHERE database = ? AND table = ? AND active
ORDER BY partition";

impl PostStore {
    /// How many distinct posts are stored and not deleted.
    pub async fn count_posts(&self) -> Result<u64, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS)
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("count posts"))
    }

    /// For each watch, how many distinct live posts matched it (a post in several watches counts
    /// once in each). Sorted by watch name; watches without posts are absent.
    pub async fn count_posts_by_watch(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS_BY_WATCH)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("count posts by watch"))
    }

    /// For each label (`negative`, `neutral`, `positive`, `unscored`), how many distinct live
    /// posts carry it in their latest delivery. Sorted by label; labels without posts are absent.
    pub async fn count_posts_by_label(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS_BY_LABEL)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("count posts by label"))
    }

    /// The days that have a partition in `posts`, ascending.
    pub async fn post_partition_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let query = match self.cluster() {
            Some(cluster) => self
                .client()
                .query(LIST_ACTIVE_PARTITIONS_ON_CLUSTER)
                .bind(cluster)
                .bind(self.database())
                .bind(format!("{POSTS_TABLE}{LOCAL_TABLE_SUFFIX}")),
            None => self
                .client()
                .query(LIST_ACTIVE_PARTITIONS)
                .bind(self.database())
                .bind(POSTS_TABLE),
        };
        let partitions: Vec<String> = query
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("list post partitions"))?;
        let mut days = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let Some(day) = day_of_partition(&partition) else {
                tracing::warn!(%partition, "posts partition is not a YYYYMMDD day; ignoring it");
                continue;
            };
            days.push(day);
        }
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// Retention: drops every daily partition of `posts` (and of `watch_posts`, `trend_rollup`
    /// and `trend_rollup_totals`) before `today − days` and returns the days dropped. Running it again drops nothing more.
    pub async fn drop_partitions_older_than(
        &self,
        days: u32,
        today: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let Some(oldest_day_kept) = today.checked_sub_days(Days::new(u64::from(days))) else {
            return Ok(Vec::new());
        };
        let mut dropped = Vec::new();
        for day in self.post_partition_days().await? {
            if day >= oldest_day_kept {
                continue;
            }
            for (statement, operation) in RETENTION_DROPS {
                self.client()
                    .query(&self.per_shard_statement(statement))
                    .bind(partition_of_day(day))
                    .execute()
                    .await
                    .map_err(StoreError::clickhouse(operation))?;
            }
            tracing::info!(database = %self.database(), %day, "retention dropped posts partition");
            dropped.push(day);
        }
        Ok(dropped)
    }
}

/// One SQL statement the store sends, rendered exactly as it goes over the wire (every `?`
/// bound by the `clickhouse` crate's own escaping), for running it on another engine: the tests
/// run each one on current ClickHouse (chdb) as well as on the local 18.16 server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSql {
    /// What the statement does: the operation its errors name, e.g. `count posts`.
    pub name: String,
    /// True when it runs in the configured database, false when server-wide (no database
    /// selected: ping, version, `CREATE DATABASE`, `DROP DATABASE`).
    pub in_database: bool,
    /// The SQL text, with every placeholder bound.
    pub sql: String,
}

pub(crate) const READ_SCHEMA_MIGRATIONS: &str = "SELECT DISTINCT version FROM ? ORDER BY version";
pub(crate) const CREATE_DATABASE: &str = "CREATE DATABASE IF NOT EXISTS ?";
const DROP_POST_PARTITION: &str = "ALTER TABLE posts DROP PARTITION ?";
const DROP_WATCH_POST_PARTITION: &str = "ALTER TABLE watch_posts DROP PARTITION ?";

/// What retention drops for one day, in order: `posts` last, because the days to drop are read
/// from `posts`: a failure part way leaves the day listed, and the next round drops the rest
/// (dropping a partition that is already gone does nothing).
const RETENTION_DROPS: [(&str, &str); 4] = [
    (DROP_ROLLUP_TOTALS_PARTITION, "drop rollup totals partition"),
    (DROP_ROLLUP_PARTITION, "drop rollup partition"),
    (DROP_WATCH_POST_PARTITION, "drop watch post partition"),
    (DROP_POST_PARTITION, "drop post partition"),
];
pub(crate) const PING: &str = "SELECT toUInt8(1)";
pub(crate) const SERVER_VERSION: &str = "SELECT version()";
pub(crate) const DROP_DATABASE: &str = "DROP DATABASE IF EXISTS ?";

/// Every statement [`PostStore::migrate`] runs on an empty `database`, in order: the database,
/// `schema_migrations`, then each statement of each entry of [`crate::MIGRATIONS`]. (Recording a
/// version is a RowBinary insert into `schema_migrations`, not SQL text, so it is not here.)
pub fn migration_sql(database: &str) -> Vec<StatementSql> {
    let mut statements = vec![
        render("create database", false, CREATE_DATABASE, |query| {
            query.bind(Identifier(database))
        }),
        render(
            "create schema_migrations",
            true,
            crate::schema::CREATE_SCHEMA_MIGRATIONS,
            |query| query,
        ),
    ];
    for migration in crate::schema::MIGRATIONS {
        for (index, statement) in migration.statements.iter().enumerate() {
            statements.push(StatementSql {
                name: format!("migration {} statement {}", migration.version, index + 1),
                in_database: true,
                sql: (*statement).to_string(),
            });
        }
    }
    statements
}

/// Every other statement the store sends as SQL text, with the values the store would bind for
/// `database` and, for retention, the partition of `retention_day`. Listed in an order that is
/// safe to run one after another: reads first, then the retention drops, then `DROP DATABASE`.
/// The query-layer statements (trends in every table × grouping, posts, stories, alerts, health)
/// are bound with sample filters that include hostile text, exactly as the store binds them.
pub fn all_query_sql(database: &str, retention_day: NaiveDate) -> Vec<StatementSql> {
    let mut statements = vec![
        render("ping", false, PING, |query| query),
        render("server version", false, SERVER_VERSION, |query| query),
        render(
            "read schema_migrations",
            true,
            READ_SCHEMA_MIGRATIONS,
            |query| query.bind(Identifier(crate::schema::SCHEMA_MIGRATIONS_TABLE)),
        ),
        render("count posts", true, COUNT_LIVE_POSTS, |query| query),
        render(
            "count posts by watch",
            true,
            COUNT_LIVE_POSTS_BY_WATCH,
            |query| query,
        ),
        render(
            "count posts by label",
            true,
            COUNT_LIVE_POSTS_BY_LABEL,
            |query| query,
        ),
        render(
            "list post partitions",
            true,
            LIST_ACTIVE_PARTITIONS,
            |query| query.bind(database).bind(POSTS_TABLE),
        ),
    ];
    statements.extend(crate::query_catalog::query_layer_sql());
    statements.extend([
        render("drop post partition", true, DROP_POST_PARTITION, |query| {
            query.bind(partition_of_day(retention_day))
        }),
        render(
            "drop watch post partition",
            true,
            DROP_WATCH_POST_PARTITION,
            |query| query.bind(partition_of_day(retention_day)),
        ),
        render(
            "drop rollup partition",
            true,
            DROP_ROLLUP_PARTITION,
            |query| query.bind(partition_of_day(retention_day)),
        ),
        render(
            "drop rollup totals partition",
            true,
            DROP_ROLLUP_TOTALS_PARTITION,
            |query| query.bind(partition_of_day(retention_day)),
        ),
        render("drop database", false, DROP_DATABASE, |query| {
            query.bind(Identifier(database))
        }),
    ]);
    statements
}

/// What cluster mode sends in place of the single-server text (see `cluster.rs`), rendered for
/// `database` in cluster `cluster`: `CREATE DATABASE … ON CLUSTER`, each migration statement's
/// replicated local and distributed forms, the partition listing over the cluster, the per-shard
/// `ALTER`s (retention and superseded rollups), `DROP DATABASE … ON CLUSTER`. The cluster
/// engines cannot run in chdb; the tests check there that each of these parses.
pub fn cluster_sql(database: &str, cluster: &str, retention_day: NaiveDate) -> Vec<StatementSql> {
    let mut statements = vec![render(
        "create database on cluster",
        false,
        &on_cluster(CREATE_DATABASE, cluster),
        |query| query.bind(Identifier(database)),
    )];
    let schema = std::iter::once(crate::schema::CREATE_SCHEMA_MIGRATIONS).chain(
        crate::schema::MIGRATIONS
            .iter()
            .flat_map(|migration| migration.statements.iter().copied()),
    );
    for (index, statement) in schema.enumerate() {
        for (part, sql) in cluster_migration_statements(statement, database, cluster)
            .into_iter()
            .enumerate()
        {
            statements.push(StatementSql {
                name: format!("cluster schema statement {} part {}", index + 1, part + 1),
                in_database: true,
                sql,
            });
        }
    }
    statements.push(render(
        "list post partitions on cluster",
        true,
        LIST_ACTIVE_PARTITIONS_ON_CLUSTER,
        |query| {
            query
                .bind(cluster)
                .bind(database)
                .bind(format!("{POSTS_TABLE}{LOCAL_TABLE_SUFFIX}"))
        },
    ));
    for (statement, operation) in RETENTION_DROPS {
        statements.push(render(
            &format!("{operation} on cluster"),
            true,
            &cluster_alter_statement(statement, database, cluster),
            |query| query.bind(partition_of_day(retention_day)),
        ));
    }
    for (statement, operation) in crate::rollup::SUPERSEDED_DELETES {
        statements.push(render(
            &format!("{operation} on cluster"),
            true,
            &cluster_alter_statement(statement, database, cluster),
            |query| query.bind([300u32, 600]).bind([7u64, 8]),
        ));
    }
    statements.push(render(
        "drop database on cluster",
        false,
        &on_cluster(DROP_DATABASE, cluster),
        |query| query.bind(Identifier(database)),
    ));
    statements
}

/// Binds with the same client type the store uses, so values are escaped exactly as sent.
pub(crate) fn render(
    name: &str,
    in_database: bool,
    template: &str,
    bind: impl FnOnce(clickhouse::query::Query) -> clickhouse::query::Query,
) -> StatementSql {
    let query = bind(clickhouse::Client::default().query(template));
    StatementSql {
        name: name.to_string(),
        in_database,
        sql: query.sql_display().to_string(),
    }
}

/// The partition value `toYYYYMMDD` gives for `day`, e.g. 20150223.
pub(crate) fn partition_of_day(day: NaiveDate) -> u32 {
    let year = u32::try_from(day.year()).unwrap_or(0);
    year * 10_000 + day.month() * 100 + day.day()
}

/// The day of a partition named like `20150223`; `None` for anything else.
pub(crate) fn day_of_partition(partition: &str) -> Option<NaiveDate> {
    let digits = partition.trim_matches('\'');
    if digits.len() != 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    let year = i32::try_from(value / 10_000).ok()?;
    NaiveDate::from_ymd_opt(year, (value / 100) % 100, value % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        let day = NaiveDate::from_ymd_opt(2015, 2, 23).unwrap();
        assert_eq!(partition_of_day(day), 20_150_223);
        assert_eq!(day_of_partition("20150223"), Some(day));
        assert_eq!(day_of_partition("'20150223'"), Some(day));
        assert_eq!(day_of_partition("20151323"), None);
        assert_eq!(day_of_partition("2015022"), None);
        assert_eq!(day_of_partition("tuple()"), None);
    }

    #[test]
    fn every_query_excludes_deleted_posts_and_binds_instead_of_formatting() {
        for query in [
            COUNT_LIVE_POSTS,
            COUNT_LIVE_POSTS_BY_WATCH,
            COUNT_LIVE_POSTS_BY_LABEL,
        ] {
            assert!(query.contains(NOT_DELETED_CONDITION), "{query}");
            assert!(!query.contains('?'), "{query}");
        }
        assert_eq!(LIST_ACTIVE_PARTITIONS.matches('?').count(), 2);
    }

    /// The SQL literals and constants that a source file passes to `.query(…)` (mentions in
    /// comments and messages, which are neither, are left out).
    fn query_arguments(source: &str) -> Vec<&str> {
        source
            // Split so that this scan does not find its own pattern.
            .match_indices(concat!(".", "query("))
            .filter_map(|(start, pattern)| {
                let rest = &source[start + pattern.len()..];
                match rest.strip_prefix('"') {
                    Some(literal) => Some(&literal[..literal.find('"')?]),
                    None => {
                        let argument = &rest[..rest.find(')')?];
                        let is_name = !argument.is_empty()
                            && argument
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_');
                        is_name.then_some(argument)
                    }
                }
            })
            .collect()
    }

    /// Guards [`all_query_sql`] and [`migration_sql`] against drift: every statement the crate
    /// sends as SQL text is one they list, so the chdb test (tests/current_clickhouse.rs) runs it.
    #[test]
    fn the_statement_lists_cover_every_query_the_crate_sends() {
        let listed_literals = [
            READ_SCHEMA_MIGRATIONS,
            CREATE_DATABASE,
            PING,
            SERVER_VERSION,
            DROP_DATABASE,
        ];
        let listed_constants = [
            "COUNT_LIVE_POSTS",
            "COUNT_LIVE_POSTS_BY_WATCH",
            "COUNT_LIVE_POSTS_BY_LABEL",
            "LIST_ACTIVE_PARTITIONS",
            "DROP_POST_PARTITION",
            "DROP_WATCH_POST_PARTITION",
            "DROP_ROLLUP_PARTITION",
            "DROP_ROLLUP_TOTALS_PARTITION",
            "ROLLUP_TOTALS",
            "BACKFILL_ROLLUP_MARKS",
            "MARK_BUCKETS",
            "MARK_DELETED_POST_BUCKETS",
            "SERVER_NOW",
            "DIRTY_BUCKETS",
            "CLEAN_BUCKETS",
            "RECORD_GENERATIONS",
            "SUPERSEDED_BUCKETS",
            "LIST_WATCHES",
            "LIST_STORIES",
            "STORY_EVENTS",
            "STORY_ACTIONS",
            "LATEST_COLLECTOR_HEALTH",
            "CHANGED_STORIES",
            "READ_SCHEMA_MIGRATIONS",
            "CREATE_DATABASE",
            "PING",
            "SERVER_VERSION",
            "DROP_DATABASE",
            // migrate.rs runs `CREATE_SCHEMA_MIGRATIONS` and each migration `statement`.
            "CREATE_SCHEMA_MIGRATIONS",
            "statement",
            // `render` above, which binds the listed templates.
            "template",
            // Cluster mode: `cluster_sql` renders each of these.
            "LIST_ACTIVE_PARTITIONS_ON_CLUSTER",
            "&statement",
            "&clustered",
            "&self.per_shard_statement(statement)",
        ];
        let sources = [
            include_str!("config.rs"),
            include_str!("error.rs"),
            include_str!("lib.rs"),
            include_str!("migrate.rs"),
            include_str!("queries.rs"),
            include_str!("schema.rs"),
            include_str!("sink.rs"),
            include_str!("stage.rs"),
            include_str!("store.rs"),
            include_str!("alerts.rs"),
            include_str!("filters.rs"),
            include_str!("post_search.rs"),
            include_str!("stories.rs"),
            include_str!("trends.rs"),
            include_str!("query_catalog.rs"),
            include_str!("rollup.rs"),
        ];
        let mut seen = 0;
        for argument in sources.iter().flat_map(|source| query_arguments(source)) {
            seen += 1;
            assert!(
                listed_literals.contains(&argument) || listed_constants.contains(&argument),
                "`.query({argument})` is not in all_query_sql or migration_sql"
            );
        }
        assert!(seen >= 10, "found only {seen} queries: is the scan broken?");
        // Statements built at run time (`query(&sql)` calls) come from these builders, each of which
        // `query_catalog::query_layer_sql` renders for every variant.
        let built_by = [
            "trend_sql",
            "share_of_voice_sql",
            "search_posts_sql",
            "story_posts_sql",
        ];
        let runtime_built = sources
            .iter()
            .map(|source| source.matches(concat!(".", "query(&sql)")).count())
            .sum::<usize>();
        assert_eq!(
            runtime_built,
            built_by.len(),
            "a new runtime-built query needs listing"
        );

        let day = NaiveDate::from_ymd_opt(2015, 2, 23).unwrap();
        let queries = all_query_sql("tw_test", day);
        let names: Vec<&str> = queries.iter().map(|query| query.name.as_str()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for statement in queries.iter().chain(migration_sql("tw_test").iter()) {
            assert!(!statement.sql.contains('?'), "unbound: {statement:?}");
        }
        let by_name = |name: &str| &queries.iter().find(|query| query.name == name).unwrap().sql;
        assert_eq!(
            by_name("drop post partition"),
            "ALTER TABLE posts DROP PARTITION 20150223"
        );
        assert_eq!(
            by_name("drop database"),
            "DROP DATABASE IF EXISTS `tw_test`"
        );
        assert!(
            by_name("list post partitions").contains("database = 'tw_test' AND table = 'posts'")
        );
    }
}
