//! Rendering `tidewatch query` results as an aligned table, CSV or JSON. Pure apart from the
//! writer it is given.
//!
//! Guarantees: CSV uses the same columns and quoting as the API's CSV export; JSON is the API's
//! JSON shape; table cells are single-line (newlines and tabs become spaces, long text is cut
//! at [`MAX_TABLE_CELL_CHARS`] characters with `…`).

use std::io::{self, Write};

use serde::Serialize;
use tidewatch_model::format_timestamp;
use tidewatch_store::{AlertView, PostPage, Story, TrendBucket};

use crate::csv;
use crate::query_cli::QueryFormat;

pub(crate) const MAX_TABLE_CELL_CHARS: usize = 80;

fn table_cell(text: &str) -> String {
    let single_line: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    if single_line.chars().count() <= MAX_TABLE_CELL_CHARS {
        return single_line;
    }
    let mut cut: String = single_line.chars().take(MAX_TABLE_CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Columns padded to their widest cell, two spaces apart.
pub(crate) fn write_table(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| table_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|name| name.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

pub(crate) fn write_trends(
    out: &mut impl Write,
    format: QueryFormat,
    buckets: &[TrendBucket],
) -> io::Result<()> {
    match format {
        QueryFormat::Json => write_json(out, &serde_json::json!({ "buckets": buckets })),
        QueryFormat::Csv => out.write_all(
            csv::document(csv::TREND_HEADER, buckets.iter().map(csv::trend_row)).as_bytes(),
        ),
        QueryFormat::Table => {
            let rows: Vec<Vec<String>> = buckets
                .iter()
                .map(|bucket| {
                    vec![
                        format_timestamp(&bucket.bucket),
                        bucket.group.clone(),
                        bucket.posts.to_string(),
                        bucket.negative.to_string(),
                        format!("{:.4}", bucket.negative_share),
                        bucket
                            .mean_compound
                            .map(|mean| format!("{mean:.4}"))
                            .unwrap_or_default(),
                        bucket.distinct_authors.to_string(),
                    ]
                })
                .collect();
            write_table(
                out,
                &[
                    "bucket",
                    "group",
                    "posts",
                    "negative",
                    "neg_share",
                    "mean_compound",
                    "authors",
                ],
                &rows,
            )
        }
    }
}

pub(crate) fn write_posts(
    out: &mut impl Write,
    format: QueryFormat,
    page: &PostPage,
) -> io::Result<()> {
    match format {
        QueryFormat::Json => write_json(out, page),
        QueryFormat::Csv => out.write_all(
            csv::document(csv::POST_HEADER, page.posts.iter().map(csv::post_row)).as_bytes(),
        ),
        QueryFormat::Table => {
            let rows: Vec<Vec<String>> = page
                .posts
                .iter()
                .map(|post| {
                    vec![
                        format_timestamp(&post.created_at),
                        post.key(),
                        post.label.clone(),
                        post.author_handle.clone().unwrap_or_default(),
                        post.text.clone(),
                    ]
                })
                .collect();
            write_table(
                out,
                &["created_at", "post", "label", "author", "text"],
                &rows,
            )?;
            if let Some(cursor) = &page.next_cursor {
                writeln!(out, "next page: --cursor {cursor}")?;
            }
            Ok(())
        }
    }
}

pub(crate) fn write_stories(
    out: &mut impl Write,
    format: QueryFormat,
    stories: &[Story],
) -> io::Result<()> {
    match format {
        QueryFormat::Json => write_json(out, &serde_json::json!({ "stories": stories })),
        QueryFormat::Csv | QueryFormat::Table => {
            let header = [
                "story_id",
                "watch",
                "state",
                "severity",
                "fired_at",
                "last_event_at",
                "posts",
                "negative_share",
                "title",
            ];
            let rows: Vec<Vec<String>> = stories
                .iter()
                .map(|story| {
                    vec![
                        story.story_id.clone(),
                        story.watch.clone(),
                        story.state_name().to_string(),
                        story.severity_name().to_string(),
                        format_timestamp(&story.fired_at),
                        format_timestamp(&story.last_event_at),
                        story.posts.to_string(),
                        // People read the table; CSV keeps every digit for programs.
                        if format == QueryFormat::Table {
                            format!("{:.2}", story.negative_share)
                        } else {
                            story.negative_share.to_string()
                        },
                        story.title.clone(),
                    ]
                })
                .collect();
            write_rows(out, format, &header, rows)
        }
    }
}

pub(crate) fn write_alerts(
    out: &mut impl Write,
    format: QueryFormat,
    alerts: &[AlertView],
) -> io::Result<()> {
    match format {
        QueryFormat::Json => write_json(out, &serde_json::json!({ "alerts": alerts })),
        QueryFormat::Csv | QueryFormat::Table => {
            let header = [
                "story_id",
                "watch",
                "status",
                "severity",
                "fired_at",
                "last_event_at",
                "posts",
                "acknowledged_by",
                "title",
            ];
            let rows: Vec<Vec<String>> = alerts
                .iter()
                .map(|alert| {
                    vec![
                        alert.story_id.clone(),
                        alert.watch.clone(),
                        alert.status.as_str().to_string(),
                        tidewatch_store::severity_name(alert.severity).to_string(),
                        format_timestamp(&alert.fired_at),
                        format_timestamp(&alert.last_event_at),
                        alert.posts.to_string(),
                        alert.acknowledged_by.clone().unwrap_or_default(),
                        alert.title.clone(),
                    ]
                })
                .collect();
            write_rows(out, format, &header, rows)
        }
    }
}

fn write_rows(
    out: &mut impl Write,
    format: QueryFormat,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    if format == QueryFormat::Table {
        return write_table(out, header, &rows);
    }
    let quoted = rows
        .into_iter()
        .map(|row| row.iter().map(|cell| csv::text_field(cell)).collect());
    out.write_all(csv::document(header, quoted).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_flatten_cells() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["a\nb".to_string(), "1".to_string()],
            vec!["long".to_string(), "22".to_string()],
        ];
        write_table(&mut out, &["name", "n"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name  n\na b   1\nlong  22\n"
        );
        let long = "x".repeat(200);
        assert_eq!(table_cell(&long).chars().count(), MAX_TABLE_CELL_CHARS);
    }
}
