//! Loading preference pairs from JSONL: the sample files, every kind of malformed line, the
//! error cases, and the Anthropic-HH prompt extraction.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use workbench::sequence::jsonl::{self, JsonlError, Loaded, TextPair};
use workbench::sequence::tokenizer::ByteTokenizer;

const HH_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../experiments/data/hh_sample.jsonl"
);
const PAIRS_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../experiments/data/pairs_sample.jsonl"
);

/// A file in the temporary folder, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    /// A new file named after `name`, unique to this process and call, holding `contents`.
    fn new(name: &str, contents: &[u8]) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "workbench-jsonl-{}-{n}-{name}.jsonl",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("the temporary folder is writable");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load_ok(path: &Path) -> Loaded {
    jsonl::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The pair decoded back from its tokens, as `(prompt, chosen, rejected)`.
fn decoded(pair: &TextPair) -> (String, String, String) {
    let tokenizer = ByteTokenizer;
    let tokens = pair.tokens(&tokenizer);
    (
        tokenizer.decode(&tokens.prompt),
        tokenizer.decode(&tokens.chosen),
        tokenizer.decode(&tokens.rejected),
    )
}

#[test]
fn hh_sample_loads_fully() {
    let loaded = load_ok(Path::new(HH_SAMPLE));
    assert_eq!(loaded.pairs.len(), 12);
    assert!(
        loaded.skipped.is_empty(),
        "{:?}",
        loaded.warnings(Path::new(HH_SAMPLE))
    );
    let lines: Vec<_> = loaded.pairs.iter().map(|p| p.line).collect();
    assert_eq!(lines, (1..=12).collect::<Vec<_>>());

    let (prompt, chosen, rejected) = decoded(&loaded.pairs[0]);
    assert_eq!(prompt, "\n\nHuman: How do I boil an egg?\n\nAssistant:");
    assert_eq!(
        chosen,
        " Put it in boiling water for 7 to 9 minutes, then cool it in cold water."
    );
    assert_eq!(rejected, " Just microwave it in the shell.");

    // A multi-turn dialogue: the prompt keeps the earlier turns.
    let (prompt, _, _) = decoded(&loaded.pairs[3]);
    assert_eq!(
        prompt,
        "\n\nHuman: Help me plan a study schedule?\n\nAssistant: Sure. How many hours a \
         day?\n\nHuman: About three.\n\nAssistant:"
    );
    for pair in &loaded.pairs {
        assert!(pair.prompt.starts_with("\n\nHuman: "), "line {}", pair.line);
        assert!(
            pair.prompt.ends_with("\n\nAssistant:"),
            "line {}",
            pair.line
        );
        assert_ne!(pair.chosen, pair.rejected, "line {}", pair.line);
    }
}

#[test]
fn pairs_sample_loads_fully() {
    let loaded = load_ok(Path::new(PAIRS_SAMPLE));
    assert_eq!(loaded.pairs.len(), 12);
    assert!(loaded.skipped.is_empty());

    let (prompt, chosen, rejected) = decoded(&loaded.pairs[1]);
    assert_eq!(prompt, "What is the capital of Australia?");
    assert_eq!(chosen, "Canberra.");
    assert_eq!(rejected, "Sydney.");

    // Multi-byte characters survive the byte tokenizer.
    let (_, chosen, _) = decoded(&loaded.pairs[9]);
    assert_eq!(chosen, "212 °F.");
}

/// Every kind of malformed line, after a BOM and with CRLF endings, between two good lines.
const MIXED: &[&str] = &[
    r#"{"prompt": "Say hi.", "chosen": "Hi!", "rejected": "Go away.", "source": "test"}"#,
    r#"{"prompt": "p", "chosen": "a", "rejected": "#,
    "",
    r#"["not", "an", "object"]"#,
    r#"{"prompt": "p", "rejected": "b"}"#,
    r#"{"prompt": "p", "chosen": 7, "rejected": "b"}"#,
    r#"{"prompt": "p", "chosen": "a"}"#,
    r#"{"prompt": "p", "chosen": "a", "rejected": false}"#,
    r#"{"prompt": 3, "chosen": "a", "rejected": "b"}"#,
    r#"{"prompt": "p", "chosen": "", "rejected": "b"}"#,
    r#"{"prompt": "p", "chosen": "a", "rejected": ""}"#,
    r#"{"prompt": "p", "chosen": "same", "rejected": "same"}"#,
    r#"{"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman: b\n\nAssistant: y"}"#,
    r#"{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: What?"}"#,
    "   ",
];

#[test]
fn malformed_lines_are_skipped_with_their_line_numbers() {
    let mut contents = "\u{FEFF}".to_string();
    contents.push_str(&MIXED.join("\r\n"));
    contents.push_str("\r\n");
    let file = TempFile::new("mixed", contents.as_bytes());
    let loaded = load_ok(file.path());

    let good: Vec<_> = loaded.pairs.iter().map(|p| p.line).collect();
    assert_eq!(good, [1, 14]);
    assert_eq!(
        (
            loaded.pairs[0].prompt.as_str(),
            loaded.pairs[0].chosen.as_str()
        ),
        ("Say hi.", "Hi!")
    );
    assert_eq!(loaded.pairs[1].prompt, "\n\nHuman: Hi\n\nAssistant:");
    assert_eq!(loaded.pairs[1].rejected, " What?");

    let expected = [
        (2, "invalid JSON"),
        (4, "not a JSON object"),
        (5, "missing `chosen`"),
        (6, "`chosen` is not a string"),
        (7, "missing `rejected`"),
        (8, "`rejected` is not a string"),
        (9, "`prompt` is not a string"),
        (10, "`chosen` response is empty"),
        (11, "`rejected` response is empty"),
        (12, "identical"),
        (13, "\"\\n\\nAssistant:\" in the common prefix"),
    ];
    let lines: Vec<_> = loaded.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, expected.map(|(line, _)| line));
    for (skipped, (line, problem)) in loaded.skipped.iter().zip(expected) {
        assert!(
            skipped.reason.contains(problem),
            "line {line}: {:?} does not mention {problem:?}",
            skipped.reason
        );
        assert!(!skipped.reason.contains('\n'), "line {line}: not one line");
    }

    let warnings = loaded.warnings(file.path());
    assert_eq!(warnings.len(), expected.len());
    assert_eq!(
        warnings[3],
        format!(
            "{}:6: skipped: `chosen` is not a string (found a number)",
            file.path().display()
        )
    );
}

#[test]
fn a_file_without_a_usable_pair_is_an_error_naming_it() {
    let file = TempFile::new(
        "broken",
        b"{\"chosen\": \"a\"}\n\nnot json\n{\"prompt\": \"p\", \"chosen\": \"x\", \"rejected\": \"x\"}\n",
    );
    let error = jsonl::load(file.path()).unwrap_err();
    assert!(matches!(&error, JsonlError::NoPairs { skipped, .. } if skipped.len() == 3));
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: ", file.path().display())),
        "{message}"
    );
    assert!(message.contains("no usable preference pair"), "{message}");
    assert!(
        message.contains("3 lines skipped, the first at line 1: missing `rejected`"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");

    let blank = TempFile::new("blank", b"\n  \r\n");
    let message = jsonl::load(blank.path()).unwrap_err().to_string();
    assert!(
        message.contains(&blank.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let path = std::env::temp_dir().join(format!(
        "workbench-jsonl-{}-does-not-exist.jsonl",
        std::process::id()
    ));
    let error = jsonl::load(&path).unwrap_err();
    assert!(matches!(error, JsonlError::Read { .. }));
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: cannot read", path.display())),
        "{message}"
    );
}

/// One HH-style line from two whole dialogues.
fn hh_line(chosen: &str, rejected: &str) -> Vec<u8> {
    let line = serde_json::json!({ "chosen": chosen, "rejected": rejected }).to_string();
    line.into_bytes()
}

#[test]
fn hh_dialogues_diverging_in_the_last_assistant_turn() {
    let shared = "\n\nHuman: I'm baking bread.\n\nAssistant: Nice! What kind?\n\nHuman: Rye. \
                  How long should it rise?\n\nAssistant:";
    let file = TempFile::new(
        "hh-last",
        &hh_line(
            &format!("{shared} About 1 to 2 hours, until doubled."),
            &format!("{shared} About a week."),
        ),
    );
    let pair = &load_ok(file.path()).pairs[0];
    assert_eq!(pair.prompt, shared);
    assert_eq!(pair.chosen, " About 1 to 2 hours, until doubled.");
    assert_eq!(pair.rejected, " About a week.");
}

#[test]
fn hh_dialogues_diverging_in_an_earlier_human_turn() {
    let first = "\n\nHuman: Hi there.\n\nAssistant:";
    let chosen = format!("{first} Hello!\n\nHuman: Tell me a joke.\n\nAssistant: Why did…");
    let rejected = format!("{first} Hello!\n\nHuman: Tell me a fact.\n\nAssistant: Rye is…");
    let file = TempFile::new("hh-earlier", &hh_line(&chosen, &rejected));
    let pair = &load_ok(file.path()).pairs[0];
    // The common prefix ends inside the second human turn; the prompt is cut back to the
    // last assistant marker before it.
    assert_eq!(pair.prompt, first);
    assert_eq!(
        pair.chosen,
        " Hello!\n\nHuman: Tell me a joke.\n\nAssistant: Why did…"
    );
    assert_eq!(
        pair.rejected,
        " Hello!\n\nHuman: Tell me a fact.\n\nAssistant: Rye is…"
    );
}
