//! A byte-level tokenizer: each UTF-8 byte is one token, plus three special tokens.
//!
//! No vocabulary file and no merges, so any text round-trips and a model's vocabulary size
//! is fixed at [`VOCAB_SIZE`]; sequences are longer than with BPE, which suits small models.

/// Number of token ids: the 256 byte values and the three special tokens.
pub const VOCAB_SIZE: usize = 259;

/// Byte-level tokenizer: token id = byte value (0..=255); ids 256..=258 are special.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteTokenizer;

impl ByteTokenizer {
    /// Padding token, appended to bring a batch's sequences to one length.
    pub const PAD: u32 = 256;
    /// Beginning-of-sequence token, put before the prompt.
    pub const BOS: u32 = 257;
    /// End-of-sequence token, put after a response.
    pub const EOS: u32 = 258;
    /// Number of token ids, [`VOCAB_SIZE`].
    pub const VOCAB_SIZE: usize = VOCAB_SIZE;

    /// The UTF-8 bytes of `text` as token ids, without special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        text.bytes().map(u32::from).collect()
    }

    /// Text from token ids: bytes decoded lossily (invalid UTF-8 becomes U+FFFD), special
    /// tokens shown as `<pad>`, `<bos>`, `<eos>`, ids outside the vocabulary as U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut text = String::new();
        let mut bytes = Vec::new();
        for &id in ids {
            if let Ok(byte) = u8::try_from(id) {
                bytes.push(byte);
                continue;
            }
            // A byte run ends at any non-byte token; decode it before appending the marker.
            text.push_str(&String::from_utf8_lossy(&bytes));
            bytes.clear();
            text.push_str(match id {
                Self::PAD => "<pad>",
                Self::BOS => "<bos>",
                Self::EOS => "<eos>",
                _ => "\u{FFFD}",
            });
        }
        text.push_str(&String::from_utf8_lossy(&bytes));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_ids_are_byte_values() {
        assert_eq!(ByteTokenizer.encode("Hi!"), vec![72, 105, 33]);
        assert!(ByteTokenizer.encode("").is_empty());
    }

    #[test]
    fn multibyte_text_round_trips() {
        let text = "café — 日本語 🦀\n\nAssistant:";
        let ids = ByteTokenizer.encode(text);
        assert_eq!(ids.len(), text.len());
        assert!(ids.iter().all(|&id| id < 256));
        assert_eq!(ByteTokenizer.decode(&ids), text);
    }

    #[test]
    fn specials_are_distinct_and_inside_the_vocabulary() {
        let specials = [ByteTokenizer::PAD, ByteTokenizer::BOS, ByteTokenizer::EOS];
        assert_eq!(specials, [256, 257, 258]);
        assert!(specials.iter().all(|&id| (id as usize) < VOCAB_SIZE));
        assert_eq!(ByteTokenizer::VOCAB_SIZE, 259);
    }

    #[test]
    fn decode_shows_specials_between_text() {
        let mut ids = vec![ByteTokenizer::BOS];
        ids.extend(ByteTokenizer.encode("é"));
        ids.extend([ByteTokenizer::EOS, ByteTokenizer::PAD, ByteTokenizer::PAD]);
        assert_eq!(ByteTokenizer.decode(&ids), "<bos>é<eos><pad><pad>");
    }

    #[test]
    fn decode_is_lossy_not_panicking() {
        // A multi-byte character cut by a special token, a stray continuation byte, and an
        // id outside the vocabulary.
        let ids = [0xC3, ByteTokenizer::EOS, 0xA9, 65, 999];
        assert_eq!(ByteTokenizer.decode(&ids), "\u{FFFD}<eos>\u{FFFD}A\u{FFFD}");
    }
}
