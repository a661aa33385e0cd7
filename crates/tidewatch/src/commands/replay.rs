//! `tidewatch replay`: canonical posts from a JSONL file into `posts.raw`.
//!
//! Each line is validated with the same gate as every stage; a bad line (not JSON, a missing
//! field, a bad timestamp, invalid UTF-8, oversized) goes to the dead-letter topic with its file
//! and line number and the rest goes on. Records are sent in batches and each batch is durable
//! (acknowledged) before the next is read, so when replay returns, every line is somewhere.
//!
//! Memory is bounded whatever the file holds: a line is read into memory only up to
//! [`MAX_RECORD_BYTES`] (plus its line end); the rest of a longer line is hashed as it streams
//! past and skipped, and the line is dead-lettered with its full length and SHA-256
//! ([`read_bounded_line`]). A 300 MB line costs the reader's buffer, not 300 MB.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tidewatch_bus::transform::send_durably;
use tidewatch_bus::{ensure_topics, BusProducer, KafkaProducer, OutRecord};
use tidewatch_model::{DeadLetter, Post, PostError, Topics, MAX_RECORD_BYTES};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::telemetry;

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ReplayArgs {
    /// Canonical posts, one JSON object per line.
    #[arg(long)]
    pub(crate) posts: PathBuf,
    /// Pace the replay by the posts' created_at, this many times faster than real time.
    /// Without it, posts are sent as fast as the bus takes them.
    #[arg(long)]
    pub(crate) speedup: Option<f64>,
}

const REPLAY_BATCH: usize = 50_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayTotals {
    pub(crate) published: u64,
    pub(crate) dead_lettered: u64,
}

pub(crate) async fn replay_command(config: &Config, args: &ReplayArgs) -> anyhow::Result<()> {
    let kafka = config.require_kafka()?;
    let topics = config.topics();
    ensure_topics(kafka, &topics.all())
        .await
        .context("cannot create topics")?;
    let producer = BusProducer::Kafka(KafkaProducer::new(kafka)?);
    let cancel = telemetry::shutdown_on_signals();
    let started = std::time::Instant::now();
    let totals = replay_file(&args.posts, &producer, &topics, args.speedup, &cancel).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "replayed {} posts ({} dead-lettered) in {seconds:.2}s: {:.0} posts/s",
        totals.published,
        totals.dead_lettered,
        totals.published as f64 / seconds.max(1e-9)
    );
    Ok(())
}

pub(crate) async fn replay_file(
    path: &Path,
    producer: &BusProducer,
    topics: &Topics,
    speedup: Option<f64>,
    cancel: &CancellationToken,
) -> anyhow::Result<ReplayTotals> {
    if let Some(speedup) = speedup {
        anyhow::ensure!(
            speedup > 0.0 && speedup.is_finite(),
            "--speedup must be a positive number"
        );
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut totals = ReplayTotals::default();
    let mut batch: Vec<OutRecord> = Vec::with_capacity(REPLAY_BATCH);
    let mut line = Vec::new();
    let mut line_number = 0u64;
    let mut skipped_line: Option<(u64, String)> = None;
    let mut pace: Option<(chrono::DateTime<chrono::Utc>, Instant)> = None;
    loop {
        // Lines are read as bytes: invalid UTF-8 must reach the dead-letter topic, not stop us.
        let read = read_bounded_line(&mut reader, MAX_RECORD_BYTES, &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let parsed = match read {
            BoundedLine::End => break,
            BoundedLine::Line => {
                line_number += 1;
                if trim_line_end(&line).iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                Post::from_json_bytes(trim_line_end(&line))
            }
            BoundedLine::TooLong { length, sha256 } => {
                line_number += 1;
                skipped_line = Some((length, sha256));
                Err(PostError::RecordTooLarge {
                    bytes: usize::try_from(length).unwrap_or(usize::MAX),
                    limit: MAX_RECORD_BYTES,
                })
            }
        };
        let content = trim_line_end(&line);
        match parsed {
            Ok(post) => {
                if let Some(speedup) = speedup {
                    let (first_created, start) =
                        *pace.get_or_insert((post.created_at, Instant::now()));
                    let offset = (post.created_at - first_created)
                        .to_std()
                        .unwrap_or(Duration::ZERO);
                    let due = start + offset.div_f64(speedup);
                    if due > Instant::now() {
                        flush(producer, topics, &mut batch, &mut totals, cancel).await?;
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                }
                // Typed: moved as it is on the in-process bus, JSON written for Kafka.
                batch.push(OutRecord::typed(
                    &topics.posts_raw,
                    post.key(),
                    std::sync::Arc::new(post),
                ));
            }
            Err(error) => {
                tracing::warn!(file = %path.display(), line = line_number, reason = %error, "line dead-lettered");
                metrics::counter!("tidewatch_stage_dead_lettered_total", "stage" => "replay", "reason" => error.kind())
                    .increment(1);
                let origin = format!("{}:{line_number}", path.display());
                let mut letter =
                    DeadLetter::new("replay", error.kind(), error.to_string(), origin, content);
                if let Some((length, sha256)) = skipped_line.take() {
                    // Only a prefix was read: the letter names the whole line it stands for.
                    letter.original_len = usize::try_from(length).unwrap_or(usize::MAX);
                    letter.original_sha256 = sha256;
                    letter.original_truncated = true;
                }
                batch.push(OutRecord::new(
                    &topics.dead_letter,
                    String::new(),
                    letter.to_json(),
                ));
                totals.dead_lettered += 1;
            }
        }
        if batch.len() >= REPLAY_BATCH {
            flush(producer, topics, &mut batch, &mut totals, cancel).await?;
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    flush(producer, topics, &mut batch, &mut totals, cancel).await?;
    Ok(totals)
}

async fn flush(
    producer: &BusProducer,
    topics: &Topics,
    batch: &mut Vec<OutRecord>,
    totals: &mut ReplayTotals,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let durable = send_durably(producer, batch, "replay", cancel)
        .await
        .context("cannot publish to the bus")?;
    anyhow::ensure!(
        durable,
        "replay cancelled before its last batch was durable"
    );
    let posts = batch
        .iter()
        .filter(|record| record.topic == topics.posts_raw)
        .count() as u64;
    totals.published += posts;
    metrics::counter!("tidewatch_stage_sent_total", "stage" => "replay").increment(posts);
    batch.clear();
    Ok(())
}

/// What [`read_bounded_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum BoundedLine {
    /// The end of the file: nothing was read.
    End,
    /// A whole line (with its `\n`, unless the file ends without one) is in the buffer.
    Line,
    /// The line was longer than the limit: the buffer holds its first `limit` bytes, the rest
    /// was skipped. `length` and `sha256` (hex) cover the whole line without its `\n`.
    TooLong { length: u64, sha256: String },
}

/// Reads the next line into `line` (cleared first), holding at most `limit` + 2 bytes of it
/// (room for `\r\n`) whatever its length: the rest of a longer line is hashed as it passes
/// through `reader`'s buffer and skipped up to the next newline.
fn read_bounded_line(
    reader: &mut impl BufRead,
    limit: usize,
    line: &mut Vec<u8>,
) -> std::io::Result<BoundedLine> {
    line.clear();
    let keep = limit + 2;
    let mut overflow: Option<Sha256> = None;
    let mut length = 0u64;
    let mut ended_with_newline = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
            Some(position) => (&available[..=position], true),
            None => (available, false),
        };
        let taken = chunk.len();
        length += taken as u64;
        let payload = if found_newline {
            &chunk[..taken - 1]
        } else {
            chunk
        };
        match overflow.as_mut() {
            Some(hasher) => hasher.update(payload),
            None if line.len() + taken <= keep => line.extend_from_slice(chunk),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(&*line);
                hasher.update(payload);
                overflow = Some(hasher);
                line.truncate(limit);
                let room = limit - line.len();
                line.extend_from_slice(&chunk[..room.min(taken)]);
            }
        }
        reader.consume(taken);
        if found_newline {
            ended_with_newline = true;
            break;
        }
    }
    Ok(match overflow {
        Some(hasher) => BoundedLine::TooLong {
            length: length - u64::from(ended_with_newline),
            sha256: hex(&hasher.finalize()),
        },
        None if length == 0 => BoundedLine::End,
        None => BoundedLine::Line,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read};

    use super::*;

    /// A file of one `long`-byte line of `a`s, then `tail`, generated as it is read (nothing
    /// of it is ever held whole); counts the bytes handed out.
    struct GeneratedFile {
        long: u64,
        tail: &'static [u8],
        handed_out: u64,
    }

    const BLOCK: [u8; 8192] = [b'a'; 8192];

    impl Read for GeneratedFile {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let count = if self.handed_out < self.long {
                let count = buffer.len().min(BLOCK.len());
                let count = count.min(usize::try_from(self.long - self.handed_out).unwrap());
                buffer[..count].copy_from_slice(&BLOCK[..count]);
                count
            } else {
                let tail_read = usize::try_from(self.handed_out - self.long).unwrap();
                let rest = &self.tail[tail_read..];
                let count = buffer.len().min(rest.len());
                buffer[..count].copy_from_slice(&rest[..count]);
                count
            };
            self.handed_out += count as u64;
            Ok(count)
        }
    }

    fn sha256_of_as(count: u64) -> String {
        let mut hasher = Sha256::new();
        let mut left = count;
        while left > 0 {
            let step = left.min(BLOCK.len() as u64);
            hasher.update(&BLOCK[..step as usize]);
            left -= step;
        }
        hex(&hasher.finalize())
    }

    #[test]
    fn a_huge_line_is_skipped_with_its_length_and_hash_in_bounded_memory() {
        const LONG: u64 = 100 * 1024 * 1024;
        let good = br#"{"source":"mastodon","source_id":"1","created_at":"2015-02-23T18:15:31Z","text":"hi"}"#;
        let mut tail = b"\n".to_vec();
        tail.extend_from_slice(good);
        tail.push(b'\n');
        let file = GeneratedFile {
            long: LONG,
            tail: Box::leak(tail.into_boxed_slice()),
            handed_out: 0,
        };
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        let mut line = Vec::new();

        let first = read_bounded_line(&mut reader, MAX_RECORD_BYTES, &mut line).unwrap();
        assert_eq!(
            first,
            BoundedLine::TooLong {
                length: LONG,
                sha256: sha256_of_as(LONG)
            }
        );
        assert_eq!(
            line.len(),
            MAX_RECORD_BYTES,
            "the prefix kept for the dead letter"
        );
        assert!(
            line.capacity() <= 2 * (MAX_RECORD_BYTES + 2),
            "the line buffer grew to {} bytes for a {LONG}-byte line",
            line.capacity()
        );
        let tail_length = reader.get_ref().tail.len() as u64;
        assert_eq!(
            reader.get_ref().handed_out,
            LONG + tail_length,
            "the whole long line passed through the reader (and the tail, in one read)"
        );

        let second = read_bounded_line(&mut reader, MAX_RECORD_BYTES, &mut line).unwrap();
        assert_eq!(second, BoundedLine::Line);
        let post = Post::from_json_bytes(trim_line_end(&line)).unwrap();
        assert_eq!(post.source_id, "1");
        let end = read_bounded_line(&mut reader, MAX_RECORD_BYTES, &mut line).unwrap();
        assert_eq!(end, BoundedLine::End);
    }

    #[test]
    fn lines_at_the_limit_are_whole_and_one_byte_over_is_too_long() {
        let limit = 10;
        let text = b"0123456789\r\n0123456789x\nlast".to_vec();
        let mut reader = BufReader::with_capacity(4, text.as_slice());
        let mut line = Vec::new();
        assert_eq!(
            read_bounded_line(&mut reader, limit, &mut line).unwrap(),
            BoundedLine::Line
        );
        assert_eq!(line, b"0123456789\r\n");
        assert_eq!(
            read_bounded_line(&mut reader, limit, &mut line).unwrap(),
            BoundedLine::Line,
            "11 bytes fit the limit's room for a line end; the post gate refuses them"
        );
        assert_eq!(
            read_bounded_line(
                &mut BufReader::with_capacity(4, &b"0123456789xyz\nz"[..]),
                limit,
                &mut line
            )
            .unwrap(),
            BoundedLine::TooLong {
                length: 13,
                sha256: hex(&Sha256::digest(b"0123456789xyz"))
            }
        );
        assert_eq!(line, b"0123456789");
        assert_eq!(
            read_bounded_line(&mut reader, limit, &mut line).unwrap(),
            BoundedLine::Line
        );
        assert_eq!(line, b"last", "a last line without a newline");
    }
}
