//! The bounded memory that lets replies and reposts inherit their parent's watches.
//!
//! Guarantees: it holds at most `capacity` posts (oldest first out, FIFO by first insertion),
//! so memory stays bounded whatever the stream; capacity 0 disables it. Only posts that
//! matched at least one watch are remembered, so the capacity counts watched posts, and with a
//! narrow set of watches 100,000 entries span a long time.
//!
//! Keys: a post is remembered under its Kafka key `source:source_id`. A reply's or repost's
//! `parent_id` is the `source_id` of its parent *in the same source* (that is what every
//! collector writes), so the parent is looked up as `source:parent_id`.
//!
//! Limits, by design: a reply that arrives before its parent inherits nothing; with several
//! score instances (Kafka partitions of `posts.raw`), a reply inherits only when its parent was
//! scored by the same instance; the memory starts empty after a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Default number of remembered watched posts.
pub const DEFAULT_PARENT_MEMORY: usize = 100_000;

/// Recent watched posts' keys → indices of the watches they belong to.
#[derive(Debug, Clone)]
pub struct ParentMemory {
    capacity: usize,
    watches: HashMap<Arc<str>, Box<[u32]>>,
    order: VecDeque<Arc<str>>,
}

impl Default for ParentMemory {
    fn default() -> Self {
        Self::new(DEFAULT_PARENT_MEMORY)
    }
}

impl ParentMemory {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            watches: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.watches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// The watches of the remembered post with this key, if any.
    pub fn get(&self, key: &str) -> Option<&[u32]> {
        self.watches.get(key).map(|watches| &watches[..])
    }

    /// Remembers (or updates) the watches of the post with this key. Empty `watches` are not
    /// remembered. A key seen again keeps its place in the eviction order.
    pub fn remember(&mut self, key: &str, watches: &[u32]) {
        if self.capacity == 0 || watches.is_empty() {
            return;
        }
        if let Some(existing) = self.watches.get_mut(key) {
            if **existing != *watches {
                *existing = watches.into();
            }
            return;
        }
        while self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.watches.remove(&oldest);
            }
        }
        let key: Arc<str> = Arc::from(key);
        self.order.push_back(Arc::clone(&key));
        self.watches.insert(key, watches.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_watched_posts_and_forgets_the_oldest_beyond_capacity() {
        let mut memory = ParentMemory::new(2);
        memory.remember("m:1", &[0]);
        memory.remember("m:skip", &[]);
        memory.remember("m:2", &[1, 2]);
        assert_eq!(memory.get("m:1"), Some(&[0][..]));
        assert_eq!(memory.get("m:skip"), None);
        memory.remember("m:1", &[0, 3]);
        assert_eq!(memory.len(), 2);
        memory.remember("m:3", &[4]);
        assert_eq!(
            memory.get("m:1"),
            None,
            "oldest by first insertion goes first"
        );
        assert_eq!(memory.get("m:2"), Some(&[1, 2][..]));
        assert_eq!(memory.get("m:3"), Some(&[4][..]));
        assert_eq!(memory.len(), 2);
    }

    #[test]
    fn capacity_zero_disables_it() {
        let mut memory = ParentMemory::new(0);
        memory.remember("m:1", &[0]);
        assert!(memory.is_empty());
        assert_eq!(memory.capacity(), 0);
    }

    #[test]
    fn stays_bounded_over_a_long_stream() {
        let mut memory = ParentMemory::new(1000);
        for index in 0..50_000 {
            memory.remember(&format!("s:{index}"), &[index % 7]);
        }
        assert_eq!(memory.len(), 1000);
        assert!(memory.get("s:49999").is_some());
        assert!(memory.get("s:49000").is_some());
        assert!(memory.get("s:48999").is_none());
    }
}
