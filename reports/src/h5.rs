//! Results files as the report reads them: the core's one reader
//! ([`workbench::results::ResultsFile`]), and root attributes shown as text.

use workbench::results::AttrValue;
pub use workbench::results::{Column, DatasetInfo, Matrix, ResultsFile};

/// Root attributes as the report shows them.
pub trait AttrText {
    /// A root attribute as text: a string as it is, numbers joined by `, `, anything else
    /// as its HDF5 type in parentheses; `None` when it is absent.
    fn attr_text(&self, name: &str) -> Option<String>;
}

impl AttrText for ResultsFile {
    fn attr_text(&self, name: &str) -> Option<String> {
        Some(match self.attr_value(name)? {
            AttrValue::Text(text) => text,
            AttrValue::Numbers(values) => values
                .iter()
                .map(|v| crate::fmt_num(*v))
                .collect::<Vec<_>>()
                .join(", "),
            AttrValue::Other(Some(t)) => format!("({t} attribute)"),
            AttrValue::Other(None) => "(attribute of unknown type)".into(),
        })
    }
}
