//! Bounds on text that the report echoes from results files (an attribute of any size can
//! be written into one): a configuration block, a table cell, a problem line.

use std::borrow::Cow;

/// The most bytes of a configuration block (`config_toml`, `sweep_toml`) shown in full.
pub const BLOCK: usize = 64 * 1024;
/// The most bytes of a table cell, a note or a problem line.
pub const LINE: usize = 2 * 1024;

/// `text` cut to at most `max` bytes on a character boundary, saying how much was left out.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{} … [{} of {} bytes shown; the report shows at most {max}]",
        &text[..end],
        end,
        text.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched_and_long_text_is_cut_on_a_character_boundary() {
        assert_eq!(clip("abc", 3), "abc");
        let cut = clip("ééé", 3);
        assert!(cut.starts_with("é …"), "{cut}");
        assert!(cut.contains("[2 of 6 bytes shown"), "{cut}");
        let big = "x".repeat(20_000_000);
        assert!(clip(&big, BLOCK).len() < BLOCK + 100);
    }
}
