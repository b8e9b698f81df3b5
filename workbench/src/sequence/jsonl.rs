//! Preference pairs from a JSONL file, one JSON object per line.
//!
//! Two line shapes are accepted (extra keys are ignored):
//! - `{"prompt": "...", "chosen": "...", "rejected": "..."}`;
//! - Anthropic-HH style `{"chosen": "<dialogue>", "rejected": "<dialogue>"}`, where the prompt
//!   is the two dialogues' longest common prefix cut back to end at its last
//!   `"\n\nAssistant:"` (inclusive), and the responses are what follows the prompt.
//!
//! A gzip-compressed file (`.gz`, recognised by its magic bytes) is decompressed on
//! reading. A malformed line is skipped and reported with its 1-based line number; blank lines are
//! ignored. Only a file with no usable pair at all, or one that cannot be read, is an error.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::TokenPair;
use super::tokenizer::ByteTokenizer;

/// The marker that opens an assistant turn in an Anthropic-HH dialogue.
const ASSISTANT: &str = "\n\nAssistant:";

/// One preference pair as text, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPair {
    /// 1-based line number in the file.
    pub line: usize,
    /// Prompt x (may be empty).
    pub prompt: String,
    /// Preferred response y_w, without the prompt.
    pub chosen: String,
    /// Dispreferred response y_l, without the prompt.
    pub rejected: String,
}

impl TextPair {
    /// The pair as token ids, without special tokens.
    pub fn tokens(&self, tokenizer: &ByteTokenizer) -> TokenPair {
        TokenPair {
            prompt: tokenizer.encode(&self.prompt),
            chosen: tokenizer.encode(&self.chosen),
            rejected: tokenizer.encode(&self.rejected),
        }
    }
}

/// A line that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number in the file.
    pub line: usize,
    /// Why the line was skipped, on one line.
    pub reason: String,
}

impl Skipped {
    /// `FILE:LINE: skipped: reason`, for a line of `path`.
    pub fn warning(&self, path: &Path) -> String {
        format!("{}:{}: skipped: {}", path.display(), self.line, self.reason)
    }
}

/// Everything read from one file: the usable pairs and the skipped lines, both in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Usable pairs.
    pub pairs: Vec<TextPair>,
    /// Lines that were not used.
    pub skipped: Vec<Skipped>,
}

impl Loaded {
    /// One warning per skipped line of `path`, e.g. `data.jsonl:7: skipped: ...`.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        self.skipped.iter().map(|s| s.warning(path)).collect()
    }
}

/// Why a JSONL file gave no pairs.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A gzip file inflates beyond [`GZIP_MAX_RATIO`] times its size.
    #[error(
        "{path}: decompresses to more than {limit} bytes ({GZIP_MAX_RATIO}× its compressed size, \
         the bound the memory estimate assumes); decompress it and give the plain file as data.path"
    )]
    Inflates {
        /// The file.
        path: PathBuf,
        /// The bound, in bytes.
        limit: u64,
    },
    /// Every non-blank line was skipped, or there were none.
    #[error("{path}: no usable preference pair: {}", describe_skipped(skipped))]
    NoPairs {
        /// The file.
        path: PathBuf,
        /// The skipped lines, in file order (empty if the file has only blank lines).
        skipped: Vec<Skipped>,
    },
}

/// How many lines were skipped, and the first one with its reason.
fn describe_skipped(skipped: &[Skipped]) -> String {
    match skipped {
        [] => "the file has no non-blank line".to_string(),
        [first, ..] => format!(
            "{} line{} skipped, the first at line {}: {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            first.line,
            first.reason
        ),
    }
}

/// The first two bytes of every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How many times its compressed size a gzip file may inflate to: the memory estimate
/// assumes it, and decompression stops with an error beyond it (a small file of zeros would
/// otherwise inflate without bound).
pub const GZIP_MAX_RATIO: u64 = 10;

/// A bound on the memory that loading `path` takes, from its size before reading: its text,
/// the pairs' strings and their 4-byte tokens (gzip text at most [`GZIP_MAX_RATIO`]×
/// compressed, which [`load`] enforces).
pub fn memory_bound(path: &Path) -> u64 {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut magic = [0u8; 2];
    let gzip = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == GZIP_MAGIC;
    size.saturating_mul(if gzip { GZIP_MAX_RATIO } else { 1 })
        .saturating_mul(8)
}

/// Reads the preference pairs of the JSONL file at `path`, plain or gzip-compressed.
pub fn load(path: &Path) -> Result<Loaded, JsonlError> {
    let read_error = |source| JsonlError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = std::fs::read(path).map_err(read_error)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let limit = (bytes.len() as u64).saturating_mul(GZIP_MAX_RATIO);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                flate2::read::MultiGzDecoder::new(bytes.as_slice()),
                limit.saturating_add(1),
            ),
            &mut plain,
        )
        .map_err(read_error)?;
        if plain.len() as u64 > limit {
            return Err(JsonlError::Inflates {
                path: path.to_path_buf(),
                limit,
            });
        }
        bytes = plain;
    }
    let loaded = parse(&bytes);
    if loaded.pairs.is_empty() {
        return Err(JsonlError::NoPairs {
            path: path.to_path_buf(),
            skipped: loaded.skipped,
        });
    }
    Ok(loaded)
}

/// Pairs and skipped lines of a whole file's contents.
fn parse(bytes: &[u8]) -> Loaded {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut loaded = Loaded::default();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Decoded per line so that one bad line does not cost the whole file.
        let result = match std::str::from_utf8(raw) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_line(text),
            Err(e) => Err(format!(
                "not valid UTF-8 (bad byte at column {})",
                e.valid_up_to() + 1
            )),
        };
        match result {
            Ok((prompt, chosen, rejected)) => loaded.pairs.push(TextPair {
                line,
                prompt,
                chosen,
                rejected,
            }),
            Err(reason) => loaded.skipped.push(Skipped { line, reason }),
        }
    }
    loaded
}

/// `(prompt, chosen, rejected)` of one non-blank line, or why it cannot be used.
fn parse_line(text: &str) -> Result<(String, String, String), String> {
    let value: Value = serde_json::from_str(text).map_err(json_reason)?;
    let Value::Object(object) = value else {
        return Err(format!("not a JSON object (found {})", kind(&value)));
    };
    let chosen = string_field(&object, "chosen")?;
    let rejected = string_field(&object, "rejected")?;
    let (prompt, chosen, rejected) = match object.get("prompt") {
        Some(Value::String(prompt)) => (prompt.as_str(), chosen, rejected),
        Some(other) => return Err(format!("`prompt` is not a string (found {})", kind(other))),
        None => split_dialogues(chosen, rejected)?,
    };
    for (key, response) in [("chosen", chosen), ("rejected", rejected)] {
        if response.trim().is_empty() {
            return Err(format!("`{key}` response is empty"));
        }
    }
    if chosen == rejected {
        return Err("`chosen` and `rejected` responses are identical (no preference)".to_string());
    }
    Ok((prompt.to_string(), chosen.to_string(), rejected.to_string()))
}

/// The string at `key`, or why there is none.
fn string_field<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("`{key}` is not a string (found {})", kind(other))),
        None => Err(format!("missing `{key}`")),
    }
}

/// Anthropic-HH split: `(prompt, chosen response, rejected response)`, the prompt being the
/// common prefix of the two dialogues cut back to end at its last [`ASSISTANT`] marker.
fn split_dialogues<'a>(
    chosen: &'a str,
    rejected: &'a str,
) -> Result<(&'a str, &'a str, &'a str), String> {
    if chosen == rejected {
        return Err("`chosen` and `rejected` dialogues are identical (no preference)".to_string());
    }
    let common = &chosen[..common_prefix_len(chosen, rejected)];
    let Some(start) = common.rfind(ASSISTANT) else {
        return Err(
            "no \"\\n\\nAssistant:\" in the common prefix of the `chosen` and `rejected` \
             dialogues (no `prompt` key, so the line was read as an Anthropic-HH pair)"
                .to_string(),
        );
    };
    let end = start + ASSISTANT.len();
    Ok((&chosen[..end], &chosen[end..], &rejected[end..]))
}

/// Length in bytes of the longest common prefix of `a` and `b` that ends on a char boundary.
fn common_prefix_len(a: &str, b: &str) -> usize {
    let mut len = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    // Equal bytes up to `len` make a boundary of `a` a boundary of `b` too.
    while !a.is_char_boundary(len) {
        len -= 1;
    }
    len
}

/// serde_json's message without its position (always line 1 here), plus the column.
fn json_reason(error: serde_json::Error) -> String {
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&position).unwrap_or(&full);
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("invalid JSON at column {}: {message}", error.column())
}

/// What kind of JSON value `value` is, for messages ("a number", "null", ...).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> String {
        parse_line(line).unwrap_err()
    }

    #[test]
    fn common_prefix_stops_on_a_char_boundary() {
        // "é" is C3 A9 and "ë" is C3 AB: they share a first byte but not a character.
        assert_eq!(common_prefix_len("caé", "caë"), 2);
        assert_eq!(common_prefix_len("日本", "日本語"), "日本".len());
        assert_eq!(common_prefix_len("", "x"), 0);
    }

    #[test]
    fn hh_prompt_ends_at_the_last_shared_assistant_marker() {
        let chosen = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Café?\n\nAssistant: Sure.";
        let rejected = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Café?\n\nAssistant: No.";
        let (prompt, c, r) = split_dialogues(chosen, rejected).unwrap();
        assert_eq!(
            prompt,
            "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Café?\n\nAssistant:"
        );
        assert_eq!((c, r), (" Sure.", " No."));
    }

    #[test]
    fn hh_responses_sharing_a_start_keep_it() {
        let (prompt, c, r) = split_dialogues(
            "\n\nHuman: a\n\nAssistant: So yes",
            "\n\nHuman: a\n\nAssistant: So no",
        )
        .unwrap();
        assert_eq!(prompt, "\n\nHuman: a\n\nAssistant:");
        assert_eq!((c, r), (" So yes", " So no"));
    }

    #[test]
    fn hh_without_shared_marker_is_refused() {
        let r = split_dialogues(
            "\n\nHuman: a\n\nAssistant: x",
            "\n\nHuman: b\n\nAssistant: x",
        );
        assert!(r.unwrap_err().contains("Assistant:"));
    }

    #[test]
    fn explicit_prompt_is_kept_verbatim() {
        let pair = parse_line(r#"{"prompt":"","chosen":"a","rejected":"b","score":1}"#).unwrap();
        assert_eq!(pair, (String::new(), "a".to_string(), "b".to_string()));
    }

    #[test]
    fn reasons_name_the_problem() {
        assert_eq!(
            reason("{"),
            "invalid JSON at column 1: EOF while parsing an object"
        );
        assert_eq!(reason("3"), "not a JSON object (found a number)");
        assert_eq!(reason(r#"{"rejected":"b"}"#), "missing `chosen`");
        assert_eq!(
            reason(r#"{"chosen":null,"rejected":"b"}"#),
            "`chosen` is not a string (found null)"
        );
        assert_eq!(
            reason(r#"{"prompt":["x"],"chosen":"a","rejected":"b"}"#),
            "`prompt` is not a string (found an array)"
        );
        assert_eq!(
            reason(r#"{"prompt":"p","chosen":"a","rejected":"  "}"#),
            "`rejected` response is empty"
        );
        assert!(reason(r#"{"prompt":"p","chosen":"a","rejected":"a"}"#).contains("identical"));
    }

    #[test]
    fn bom_crlf_blank_and_bad_utf8_lines() {
        let mut bytes =
            b"\xEF\xBB\xBF{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"{\"prompt\":\"\xFF\"}\r\n   \n");
        bytes.extend_from_slice(b"{\"prompt\":\"q\",\"chosen\":\"c\",\"rejected\":\"d\"}");
        let loaded = parse(&bytes);
        let lines: Vec<_> = loaded.pairs.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 5]);
        assert_eq!(loaded.pairs[0].rejected, "b");
        assert_eq!(loaded.skipped.len(), 1);
        assert_eq!(loaded.skipped[0].line, 3);
        assert!(loaded.skipped[0].reason.contains("UTF-8"));
    }

    #[test]
    fn no_pairs_message_counts_skipped_lines() {
        let error = JsonlError::NoPairs {
            path: PathBuf::from("d.jsonl"),
            skipped: vec![
                Skipped {
                    line: 2,
                    reason: "missing `chosen`".to_string(),
                },
                Skipped {
                    line: 4,
                    reason: "x".to_string(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "d.jsonl: no usable preference pair: 2 lines skipped, the first at line 2: \
             missing `chosen`"
        );
    }
}
