//! `--point`: which of a sweep's points to run.

use crate::error::{CliError, Result};

/// Parses `3`, `0-9` or `1,4,7-9` into sorted distinct indices below `total`.
pub fn selection(text: &str, total: usize) -> Result<Vec<usize>> {
    let bad = |why: String| CliError::from(format!("--point {text}: {why}"));
    let mut chosen = std::collections::BTreeSet::new();
    for part in text.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("{part:?} is not an index or a range A-B")))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(bad(format!("the range {part} is empty")));
        }
        if hi >= total {
            return Err(bad(format!(
                "the sweep has points 0 to {}",
                total.saturating_sub(1)
            )));
        }
        chosen.extend(lo..=hi);
    }
    Ok(chosen.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::selection;
    use crate::sweep::point_stem;

    #[test]
    fn selections_and_stems() {
        assert_eq!(selection("3", 10).unwrap(), [3]);
        assert_eq!(selection("1,4,7-9", 10).unwrap(), [1, 4, 7, 8, 9]);
        assert_eq!(selection("2-3,3", 10).unwrap(), [2, 3]);
        assert!(
            selection("10", 10)
                .unwrap_err()
                .to_string()
                .contains("0 to 9")
        );
        assert!(
            selection("x", 10)
                .unwrap_err()
                .to_string()
                .contains("--point x")
        );
        assert!(selection("5-2", 10).is_err());
        assert_eq!(point_stem(7, 54), "point-0007");
        assert_eq!(point_stem(7, 100_001), "point-000007");
    }
}
