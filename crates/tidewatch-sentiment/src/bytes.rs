//! Byte-level scanning primitives for the tokenizer: Python's whitespace class as byte tests,
//! `string.punctuation`, ASCII lowercasing and an eight-bytes-at-a-time word scan.
//!
//! Guarantees: [`PROP`] marks exactly Python's ASCII whitespace (`\t \n \v \f \r`,
//! U+001C–U+001F, space) as [`P_SPACE`]; [`multibyte_space`] recognises exactly the non-ASCII
//! `str.isspace()` characters (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F,
//! U+205F, U+3000) from their UTF-8 bytes; [`swar_word_bytes`] agrees byte for byte with the
//! tables (tested on random input).

/// Per-byte properties: ASCII uppercase, lowercase, apostrophe, Python whitespace, any
/// non-ASCII byte, and possible lead byte of a multi-byte whitespace character.
pub(crate) const P_UPPER: u8 = 1;
pub(crate) const P_LOWER: u8 = 2;
pub(crate) const P_APOS: u8 = 4;
pub(crate) const P_SPACE: u8 = 8;
pub(crate) const P_NONASCII: u8 = 16;
pub(crate) const P_MAYBE_SPACE: u8 = 32;

/// The `P_*` properties of every byte value.
pub(crate) static PROP: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_uppercase() {
            P_UPPER
        } else if c.is_ascii_lowercase() {
            P_LOWER
        } else if c == b'\'' {
            P_APOS
        } else if c >= 0x80 {
            P_NONASCII
        } else {
            0
        };
        i += 1;
    }
    // Python's ASCII whitespace: \t \n \v \f \r, the separators 0x1C-0x1F, and space.
    let spaces = [9, 10, 11, 12, 13, 0x1c, 0x1d, 0x1e, 0x1f, 0x20];
    let mut k = 0;
    while k < spaces.len() {
        t[spaces[k]] = P_SPACE;
        k += 1;
    }
    t[0xc2] |= P_MAYBE_SPACE;
    t[0xe1] |= P_MAYBE_SPACE;
    t[0xe2] |= P_MAYBE_SPACE;
    t[0xe3] |= P_MAYBE_SPACE;
    t
};

/// `string.punctuation` as a byte set.
pub(crate) static PUNCT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_punctuation();
        i += 1;
    }
    t
};

/// ASCII lowercase of every byte.
pub(crate) static LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_lowercase();
        i += 1;
    }
    t
};

/// Length of the non-ASCII whitespace character starting at `i` (lead byte C2/E1/E2/E3),
/// or 0: U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
#[inline]
pub(crate) fn multibyte_space(b: &[u8], i: usize) -> usize {
    let at = |k: usize| b.get(i + k).copied().unwrap_or(0);
    let hit = match b[i] {
        0xc2 => return if matches!(at(1), 0x85 | 0xa0) { 2 } else { 0 },
        0xe1 => at(1) == 0x9a && at(2) == 0x80,
        0xe2 => match at(1) {
            0x80 => matches!(at(2), 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf),
            0x81 => at(2) == 0x9f,
            _ => false,
        },
        0xe3 => at(1) == 0x80 && at(2) == 0x80,
        _ => false,
    };
    if hit {
        3
    } else {
        0
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// For eight bytes: how many leading bytes are plain word bytes (0x21..=0x7F, so neither
/// whitespace nor non-ASCII nor a control byte), those bytes lowercased, and the union of
/// their [`PROP`] bits (upper, lower, apostrophe).
#[inline]
pub(crate) fn swar_word_bytes(chunk: &[u8]) -> (usize, [u8; 8], u8) {
    let mut a = [0u8; 8];
    a.copy_from_slice(chunk);
    let x = u64::from_le_bytes(a);
    // High bit of a byte set when it is below 0x21 or not ASCII; the lowest such byte is
    // exact (a borrow can only flag bytes above a flagged one).
    let stop = (x.wrapping_sub(ONES * 0x21) & !x & HIGH) | (x & HIGH);
    let k = if stop == 0 {
        8
    } else {
        (stop.trailing_zeros() / 8) as usize
    };
    let keep = if k == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * k)) - 1
    };
    // Byte ranges over the kept (ASCII) bytes; no carries cross them.
    let upper =
        x.wrapping_add(ONES * (0x80 - 0x41)) & !x.wrapping_add(ONES * (0x80 - 0x5b)) & HIGH & keep;
    let lower =
        x.wrapping_add(ONES * (0x80 - 0x61)) & !x.wrapping_add(ONES * (0x80 - 0x7b)) & HIGH & keep;
    let q = x ^ (ONES * u64::from(b'\''));
    let apostrophe = q.wrapping_sub(ONES) & !q & HIGH & keep;
    let props = (u8::from(upper != 0) * P_UPPER)
        | (u8::from(lower != 0) * P_LOWER)
        | (u8::from(apostrophe != 0) * P_APOS);
    (k, (x | (upper >> 2)).to_le_bytes(), props)
}

/// `_strip_punc_if_word` on bytes: the stripped range `(s, e)` (callers keep the whole token
/// when it is not longer than two characters).
#[inline]
pub(crate) fn strip_range(b: &[u8]) -> (usize, usize) {
    let mut s = 0;
    let mut e = b.len();
    while s < e && PUNCT[b[s] as usize] {
        s += 1;
    }
    while e > s && PUNCT[b[e - 1] as usize] {
        e -= 1;
    }
    (s, e)
}

#[inline]
pub(crate) fn has_nt(w: &[u8]) -> bool {
    w.windows(3)
        .any(|x| x[1] == b'\'' && (x[0] | 0x20) == b'n' && (x[2] | 0x20) == b't')
}

/// The low `n` bytes of a word (n ≤ 8).
#[inline]
pub(crate) fn low_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        x
    } else {
        x & ((1u64 << (8 * n)) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_matches_bytewise() {
        let mut seed = 0x1234_5678_9abc_def0_u64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut chunk = seed.to_le_bytes();
            // Mostly word bytes, sometimes a space, control or non-ASCII byte.
            for c in &mut chunk {
                if *c % 4 != 0 {
                    *c = 0x21 + (*c % 0x5f);
                }
            }
            let (k, lowered, props) = swar_word_bytes(&chunk);
            let want_k = chunk
                .iter()
                .position(|&c| !(0x21..0x80).contains(&c))
                .unwrap_or(8);
            assert_eq!(k, want_k, "{chunk:?}");
            let mut want_props = 0;
            for (j, &c) in chunk[..k].iter().enumerate() {
                assert_eq!(lowered[j], c.to_ascii_lowercase(), "{chunk:?}");
                want_props |= PROP[c as usize];
            }
            assert_eq!(props, want_props, "{chunk:?}");
        }
    }
}
