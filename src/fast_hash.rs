//! A fast hasher for internal maps keyed by grammar names and node ids (field names, the
//! matcher's children lists, the per-file import cache). Their keys come from the grammar
//! and the tree, not from an adversary, so SipHash's flooding resistance buys nothing, and
//! its ~100 instructions a lookup were 1.3% of a run. The mixing step is FxHash's.
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A `HashMap` with [`FastState`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

#[derive(Default, Clone, Copy)]
pub(crate) struct FastState;

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(word);
            self.add(u64::from_le_bytes(buffer));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buffer = [0u8; 8];
            buffer[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buffer) ^ (rest.len() as u64) << 56);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keyed_by_names_and_ids_work() {
        let mut names: FastMap<String, u16> = FastMap::default();
        let words = ["a", "body", "function", "arguments", "alias", "type_parameters", ""];
        for (i, word) in words.iter().enumerate() {
            names.insert((*word).to_string(), i as u16);
        }
        for (i, word) in words.iter().enumerate() {
            assert_eq!(names.get(*word), Some(&(i as u16)));
        }
        assert_eq!(names.get("bod"), None);
        let ids: FastMap<usize, usize> = (0..10_000).map(|i| (i * 64, i)).collect();
        assert!((0..10_000).all(|i| ids.get(&(i * 64)) == Some(&i)));
        // Same bytes split differently must not collide by construction.
        let hash = |s: &str| FastState.hash_one(s);
        assert_ne!(hash("ab"), hash("a\u{0}b"));
    }
}
