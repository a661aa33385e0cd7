//! The stories-dev set (`../shared/data/stories-dev`: PHEME rumour threads inside three news
//! events): its watches, its labelled stories and context stories, and its post files.
//!
//! Guarantees: everything is read as its README defines it (`watches.json`: one watch per file,
//! `name = id`, `any = keywords`; `stories.json`: `stories`, `context_stories`, `files`); a
//! missing field or a bad time is an error naming the story or file, never a silent skip. Each
//! story's post times are taken from the post files, so a lead fraction counts exactly the
//! story's posts out at the alert. Pure apart from [`read_dev_set`] / [`read_posts`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use tidewatch_model::Post;
use tidewatch_score::WatchConfig;

/// A labelled story (or a context story) of the set.
#[derive(Debug, Clone, PartialEq)]
pub struct DevStory {
    pub id: String,
    pub title: String,
    pub file: String,
    pub watches: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub source_ids: HashSet<String>,
    /// The denominator of the lead fraction (story posts in its first 3 hours).
    pub vol_3h: u64,
    pub lead_time_valid: bool,
    /// Times of the story's posts, sorted (filled from the post files).
    pub times: Vec<DateTime<Utc>>,
}

impl DevStory {
    /// The story's posts created at or before `at`.
    pub fn posts_by(&self, at: DateTime<Utc>) -> usize {
        self.times.partition_point(|time| *time <= at)
    }
}

/// One post file of the set: its watches and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct DevFile {
    pub name: String,
    pub first_post: DateTime<Utc>,
    pub last_post: DateTime<Utc>,
    pub watches: Vec<WatchConfig>,
}

impl DevFile {
    /// Days between the file's first and last post.
    pub fn days(&self) -> f64 {
        (self.last_post - self.first_post).num_seconds() as f64 / 86_400.0
    }
}

/// The whole set.
#[derive(Debug, Clone, PartialEq)]
pub struct DevSet {
    pub files: Vec<DevFile>,
    pub stories: Vec<DevStory>,
    pub context: Vec<DevStory>,
}

/// Why the set cannot be read; fatal.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{what}: missing or bad field `{field}`")]
    Field { what: String, field: &'static str },
    #[error("{path}:{line}: {reason}")]
    Post {
        path: String,
        line: usize,
        reason: String,
    },
}

fn read_json(path: &Path) -> Result<serde_json::Value, DevError> {
    let text = std::fs::read_to_string(path).map_err(|source| DevError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DevError::Json {
        path: path.display().to_string(),
        source,
    })
}

fn field<'a>(
    value: &'a serde_json::Value,
    what: &str,
    name: &'static str,
) -> Result<&'a serde_json::Value, DevError> {
    value.get(name).ok_or_else(|| DevError::Field {
        what: what.to_string(),
        field: name,
    })
}

fn text_field(
    value: &serde_json::Value,
    what: &str,
    name: &'static str,
) -> Result<String, DevError> {
    let found = field(value, what, name)?.as_str();
    found.map(str::to_string).ok_or_else(|| DevError::Field {
        what: what.to_string(),
        field: name,
    })
}

fn time_field(
    value: &serde_json::Value,
    what: &str,
    name: &'static str,
) -> Result<DateTime<Utc>, DevError> {
    let text = text_field(value, what, name)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| DevError::Field {
            what: what.to_string(),
            field: name,
        })
}

fn strings(
    value: &serde_json::Value,
    what: &str,
    name: &'static str,
) -> Result<Vec<String>, DevError> {
    let list = field(value, what, name)?
        .as_array()
        .ok_or_else(|| DevError::Field {
            what: what.to_string(),
            field: name,
        })?;
    list.iter()
        .map(|item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| DevError::Field {
                    what: what.to_string(),
                    field: name,
                })
        })
        .collect()
}

fn read_story(id: &str, value: &serde_json::Value) -> Result<DevStory, DevError> {
    let what = format!("story {id}");
    let vol_3h = match value.get("vol_3h") {
        Some(vol) => vol.as_u64().ok_or_else(|| DevError::Field {
            what: what.clone(),
            field: "vol_3h",
        })?,
        None => 0,
    };
    Ok(DevStory {
        id: id.to_string(),
        title: value
            .get("title")
            .and_then(|title| title.as_str())
            .unwrap_or("")
            .to_string(),
        file: text_field(value, &what, "file")?,
        watches: strings(value, &what, "watches")?,
        start: time_field(value, &what, "start")?,
        end: time_field(value, &what, "end")?,
        source_ids: strings(value, &what, "source_ids")?.into_iter().collect(),
        vol_3h,
        lead_time_valid: value
            .get("lead_time_valid")
            .and_then(|valid| valid.as_bool())
            .unwrap_or(false),
        times: Vec::new(),
    })
}

/// Reads `stories.json` and `watches.json` of `dir` (the post files are read by
/// [`read_posts`]; [`DevSet::attach_times`] then fills the stories' post times).
pub fn read_dev_set(dir: &Path) -> Result<DevSet, DevError> {
    let stories_json = read_json(&dir.join("stories.json"))?;
    let watches_json = read_json(&dir.join("watches.json"))?;
    let mut files = Vec::new();
    let file_entries = field(&stories_json, "stories.json", "files")?
        .as_object()
        .ok_or(DevError::Field {
            what: "stories.json".to_string(),
            field: "files",
        })?;
    let watch_files = field(&watches_json, "watches.json", "files")?;
    for (name, entry) in file_entries {
        let what = format!("file {name}");
        let watches = watch_files
            .get(name)
            .and_then(|watches| watches.as_array())
            .ok_or_else(|| DevError::Field {
                what: format!("watches.json {name}"),
                field: "files",
            })?;
        let watches = watches
            .iter()
            .map(|watch| {
                Ok(WatchConfig {
                    name: text_field(watch, &what, "id")?,
                    any: strings(watch, &what, "keywords")?,
                    all: Vec::new(),
                    none: Vec::new(),
                    languages: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, DevError>>()?;
        files.push(DevFile {
            name: name.clone(),
            first_post: time_field(entry, &what, "first_post")?,
            last_post: time_field(entry, &what, "last_post")?,
            watches,
        });
    }
    let read_all = |name: &'static str| -> Result<Vec<DevStory>, DevError> {
        let map = field(&stories_json, "stories.json", name)?
            .as_object()
            .ok_or(DevError::Field {
                what: "stories.json".to_string(),
                field: name,
            })?;
        map.iter()
            .map(|(id, value)| read_story(id, value))
            .collect()
    };
    Ok(DevSet {
        files,
        stories: read_all("stories")?,
        context: read_all("context_stories")?,
    })
}

/// Reads a post file (canonical posts, one per line); a bad line is an error with its number.
pub fn read_posts(path: &Path) -> Result<Vec<Post>, DevError> {
    let file = std::fs::File::open(path).map_err(|source| DevError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut posts = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| DevError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let post = Post::from_json_bytes(line.as_bytes()).map_err(|error| DevError::Post {
            path: path.display().to_string(),
            line: index + 1,
            reason: error.to_string(),
        })?;
        posts.push(post);
    }
    Ok(posts)
}

/// Each post's conversation: the thread root reached by following `parent_id` within the
/// posts (a post whose parent is not among them is its own root's child: the parent is the
/// root). What Twitter's `conversation_id` says, for files that do not carry it.
pub fn thread_roots(posts: &[Post]) -> HashMap<String, String> {
    let parents: HashMap<&str, Option<&str>> = posts
        .iter()
        .map(|post| (post.source_id.as_str(), post.parent_id.as_deref()))
        .collect();
    let mut roots = HashMap::new();
    for post in posts {
        let mut current = post.source_id.as_str();
        // Bounded walk: a cycle in bad data stops after as many steps as there are posts.
        for _ in 0..=posts.len() {
            match parents.get(current).copied().flatten() {
                Some(parent) if parents.contains_key(parent) => current = parent,
                Some(parent) => {
                    current = parent;
                    break;
                }
                None => break,
            }
        }
        roots.insert(post.source_id.clone(), current.to_string());
    }
    roots
}

impl DevSet {
    /// Fills every story's post times from the posts of its file.
    pub fn attach_times(&mut self, file: &str, posts: &[Post]) {
        let times: HashMap<&str, DateTime<Utc>> = posts
            .iter()
            .map(|post| (post.source_id.as_str(), post.created_at))
            .collect();
        for story in self.stories.iter_mut().chain(self.context.iter_mut()) {
            if story.file != file {
                continue;
            }
            let mut found: Vec<DateTime<Utc>> = story
                .source_ids
                .iter()
                .filter_map(|id| times.get(id.as_str()).copied())
                .collect();
            found.sort();
            story.times = found;
        }
    }

    /// The file each watch belongs to.
    pub fn file_of_watch(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        for file in &self.files {
            for watch in &file.watches {
                map.insert(watch.name.clone(), file.name.clone());
            }
        }
        map
    }

    /// The TOML config for `tidewatch backtest` on one file: its watches and `[detect]`.
    pub fn config_toml(
        &self,
        file: &str,
        detect: &tidewatch_detect::DetectorConfig,
    ) -> Result<String, String> {
        #[derive(serde::Serialize)]
        struct Watch<'a> {
            name: &'a str,
            any: &'a [String],
        }
        #[derive(serde::Serialize)]
        struct Config<'a> {
            detect: &'a tidewatch_detect::DetectorConfig,
            watch: Vec<Watch<'a>>,
        }
        let entry = self
            .files
            .iter()
            .find(|entry| entry.name == file)
            .ok_or_else(|| format!("no file {file} in the set"))?;
        let text = toml::to_string(&Config {
            detect,
            watch: entry
                .watches
                .iter()
                .map(|watch| Watch {
                    name: &watch.name,
                    any: &watch.any,
                })
                .collect(),
        })
        .map_err(|error| error.to_string())?;
        Ok(format!(
            "# tidewatch-eval: the stories-dev watches of {file} and the detector settings.\n{text}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, parent: Option<&str>) -> Post {
        let line = serde_json::json!({
            "v": 1, "source": "twitter", "source_id": id, "kind": "reply",
            "created_at": "2015-01-07T11:11:22Z", "text": "x", "parent_id": parent,
        });
        Post::from_json_bytes(line.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn thread_roots_follow_parents_to_the_source_tweet() {
        let posts = vec![
            post("1", None),
            post("2", Some("1")),
            post("3", Some("2")),
            post("4", Some("9")),
        ];
        let roots = thread_roots(&posts);
        assert_eq!(roots["1"], "1");
        assert_eq!(roots["2"], "1");
        assert_eq!(roots["3"], "1");
        // A parent outside the file is the root.
        assert_eq!(roots["4"], "9");
    }
}
