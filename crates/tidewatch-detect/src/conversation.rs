//! Which conversation a post belongs to: the thread root its replies are grouped under.
//!
//! Guarantees: a post that names its conversation (`conversation_id`) is in that one; a reply
//! whose parent the watch has seen recently is in its parent's conversation; any other reply
//! is in the conversation of its parent (the parent is taken as the root); a post without a
//! parent starts its own. The table that remembers posts' conversations has a fixed number of
//! slots (`conversation_slots`, direct-mapped by a hash of the post id; a newer post takes the
//! slot), so memory does not depend on the stream, and a forgotten parent only splits a
//! conversation, never joins two. Deterministic: the same posts give the same conversations.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::thread_key;
use crate::tokens::stable_hash;

/// Post id hash → the thread key of its conversation, in a fixed number of slots.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conversations {
    /// (post id hash, conversation key); a slot with id hash 0 is empty.
    slots: Vec<(u64, u64)>,
}

impl Default for Conversations {
    /// No slots (what a snapshot from before conversations restores to).
    fn default() -> Conversations {
        Conversations::new(0)
    }
}

impl Conversations {
    pub(crate) fn new(slots: usize) -> Conversations {
        Conversations {
            slots: vec![(0, 0); slots],
        }
    }

    /// Bytes held (fixed by the number of slots).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.len() * 16
    }

    pub(crate) fn bytes_for(slots: usize) -> usize {
        slots * 16
    }

    fn slot_of(&self, id_hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        Some((id_hash % self.slots.len() as u64) as usize)
    }

    fn id_hash(id: &str) -> u64 {
        // 0 marks an empty slot.
        stable_hash(id.as_bytes()).max(1)
    }

    /// The conversation key of a post (its `source_id`, `parent_id` and `conversation_id`),
    /// remembered for its own replies; `None` for a post that is no reply and names no
    /// conversation.
    pub(crate) fn resolve(
        &mut self,
        id: &str,
        parent: Option<&str>,
        conversation: Option<&str>,
    ) -> Option<u64> {
        let key = match (conversation, parent) {
            (Some(root), _) => Some(thread_key(root)),
            (None, Some(parent)) => {
                let parent_hash = Conversations::id_hash(parent);
                let remembered = self
                    .slot_of(parent_hash)
                    .map(|slot| self.slots[slot])
                    .filter(|(hash, _)| *hash == parent_hash)
                    .map(|(_, key)| key);
                Some(remembered.unwrap_or_else(|| thread_key(parent)))
            }
            (None, None) => None,
        };
        let own_hash = Conversations::id_hash(id);
        if let Some(slot) = self.slot_of(own_hash) {
            self.slots[slot] = (own_hash, key.unwrap_or_else(|| thread_key(id)));
        }
        // A root post that names itself is no reply.
        key.filter(|key| conversation.is_none() || *key != thread_key(id) || parent.is_some())
    }
}

/// Serialised as the occupied slots only: `[slots, [[index, id hash, key], …]]`.
impl Serialize for Conversations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let occupied: Vec<(usize, u64, u64)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, (hash, _))| *hash != 0)
            .map(|(index, (hash, key))| (index, *hash, *key))
            .collect();
        (self.slots.len(), occupied).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Conversations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Conversations, D::Error> {
        let (len, occupied) = <(usize, Vec<(usize, u64, u64)>)>::deserialize(deserializer)?;
        if len > 1 << 24 {
            return Err(serde::de::Error::custom("conversation table too large"));
        }
        let mut table = Conversations::new(len);
        for (index, hash, key) in occupied {
            let slot = table
                .slots
                .get_mut(index)
                .ok_or_else(|| serde::de::Error::custom("conversation slot out of range"))?;
            *slot = (hash, key);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_over_many_parents_share_the_root_conversation() {
        let mut table = Conversations::new(1024);
        assert_eq!(table.resolve("root", None, None), None);
        let first = table.resolve("a", Some("root"), None).unwrap();
        assert_eq!(first, thread_key("root"));
        // A reply to a reply to a reply is still in the root's conversation.
        assert_eq!(table.resolve("b", Some("a"), None), Some(first));
        assert_eq!(table.resolve("c", Some("b"), None), Some(first));
        // A named conversation wins; an unknown parent is taken as the root.
        assert_eq!(table.resolve("d", Some("x"), Some("root")), Some(first));
        assert_eq!(table.resolve("e", Some("zz"), None), Some(thread_key("zz")));
        // A root that names itself is no reply.
        assert_eq!(table.resolve("r2", None, Some("r2")), None);
        let json = serde_json::to_string(&table).unwrap();
        let restored: Conversations = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, table);
        // No slots: replies group by their parent.
        let mut none = Conversations::new(0);
        assert_eq!(none.resolve("b", Some("a"), None), Some(thread_key("a")));
        assert_eq!(none.memory_bytes(), 0);
    }
}
