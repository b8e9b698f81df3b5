//! The docs are true to the code: every configuration block of docs/configuration.md is
//! what `workbench validate --show` prints, every key the docs name is one of those keys,
//! every dataset of docs/results.md is written (and every dataset written is documented),
//! `workbench list` offers what the schemas parse, no link leaves the repository and every
//! link (with its `#anchor`) resolves, and the README is a short front door that shows the
//! two commands CI runs, an experiment that validates, and a link to every docs page.

mod common;

use common::{repo, run_small, small_results, stderr, workbench};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `## \`kind\`` sections of a doc: kind → the section's text.
fn sections(doc: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in doc.split("\n## `").skip(1) {
        let (kind, rest) = part.split_once('`').expect("## `kind`");
        out.insert(kind.to_string(), rest.to_string());
    }
    out
}

/// The ```toml blocks of `text`, in order.
fn toml_blocks(text: &str) -> Vec<String> {
    text.split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// `workbench validate FILE --show` of `text` written to a file: the resolved TOML.
fn resolve(dir: &Path, name: &str, text: &str) -> Result<String, String> {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("write");
    let path = file.display().to_string();
    let output = workbench(&["validate", &path, "--show"]);
    if !output.status.success() {
        return Err(stderr(&output));
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(text
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .to_string())
}

/// Every dotted path of a TOML table (`a`, `a.b`, `a.b.c`), arrays of tables included.
fn paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) => paths(t, &path, out),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(t) = item {
                        paths(t, &path, out);
                    }
                }
            }
            _ => {}
        }
        out.insert(path);
    }
}

#[test]
fn the_configuration_doc_is_what_the_code_resolves_and_names_only_real_keys() {
    let doc = read("docs/configuration.md");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut known = BTreeSet::new();
    let kinds = sections(&doc);
    let listed = String::from_utf8_lossy(&workbench(&["list", "kinds"]).stdout).into_owned();
    for line in listed
        .lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with("summary/"))
    {
        let kind = line.split_whitespace().next().unwrap_or_default();
        assert!(
            kinds.contains_key(kind),
            "docs/configuration.md lacks `{kind}`"
        );
    }
    for (kind, text) in &kinds {
        let blocks = toml_blocks(text);
        assert!(blocks.len() >= 2, "{kind}: needs a file and its resolution");
        let resolved = resolve(dir.path(), kind, &blocks[0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            resolved.trim_end(),
            blocks[1].trim_end(),
            "docs/configuration.md, `{kind}`: the resolved block differs from the code's"
        );
        for (i, example) in blocks.iter().enumerate().skip(2) {
            resolve(dir.path(), &format!("{kind}_{i}"), example)
                .unwrap_or_else(|e| panic!("docs/configuration.md, `{kind}` example {i}: {e}"));
        }
        for block in &blocks {
            let table: toml::Table = block.parse().expect("TOML block");
            paths(&table, "", &mut known);
        }
    }
    // The shipped experiment files count too (validated here, where their data paths resolve).
    let mut shipped = Vec::new();
    for folder in [
        "experiments",
        "experiments/examples",
        "experiments/gpu",
        "experiments/ablations",
    ] {
        for entry in std::fs::read_dir(repo(folder)).expect("experiments") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                shipped.push(path.display().to_string());
            }
        }
    }
    // The paper's Pythia file names a checkpoint and data the user sets: it is validated
    // with them in tests/pretrained_memory.rs.
    let mut args = vec!["validate"];
    args.extend(
        shipped
            .iter()
            .map(String::as_str)
            .filter(|f| !f.ends_with("fig6_table2_pythia.toml")),
    );
    let output = workbench(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    for file in &shipped {
        let table: toml::Table = std::fs::read_to_string(file)
            .unwrap()
            .parse()
            .expect("TOML");
        paths(&table, "", &mut known);
    }

    // Every `section.key` the README or a doc names is a key of some block above.
    let sections: BTreeSet<&str> = known
        .iter()
        .filter_map(|p| p.split_once('.').map(|(s, _)| s))
        .collect();
    let mut texts = vec![("README.md".to_string(), read("README.md"))];
    for entry in std::fs::read_dir(repo("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
            texts.push((name.clone(), read(&name)));
        }
    }
    let mut checked = 0;
    for (name, text) in &texts {
        for token in text.split('`').skip(1).step_by(2) {
            let key = token.split(['=', ' ']).next().unwrap_or_default();
            let Some((section, _)) = key.split_once('.') else {
                continue;
            };
            let is_key = key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
            let file_name = [
                ".rs",
                ".toml",
                ".md",
                ".h5",
                ".py",
                ".sh",
                ".png",
                ".svg",
                ".json",
                ".safetensors",
            ]
            .iter()
            .any(|ext| key.ends_with(ext));
            if is_key && !file_name && sections.contains(section) {
                assert!(
                    known.contains(key),
                    "{name} names `{key}`, which no kind accepts"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} keys found in the docs");
}

/// `a/{b,c}_{d,e}` → `a/b_d`, `a/b_e`, `a/c_d`, `a/c_e`.
fn expand_braces(pattern: &str) -> Vec<String> {
    match (pattern.find('{'), pattern.find('}')) {
        (Some(open), Some(close)) if open < close => pattern[open + 1..close]
            .split(',')
            .flat_map(|choice| {
                expand_braces(&format!(
                    "{}{choice}{}",
                    &pattern[..open],
                    &pattern[close + 1..]
                ))
            })
            .collect(),
        _ => vec![pattern.to_string()],
    }
}

/// Whether `name` fits `pattern`, where each `<placeholder>` stands for one or more
/// characters other than `/` (`<m>/distance` fits `dpo/distance`).
fn matches(pattern: &str, name: &str) -> bool {
    let Some(open) = pattern.find('<') else {
        return pattern == name;
    };
    let close = pattern[open..]
        .find('>')
        .map_or(pattern.len(), |c| open + c + 1);
    let (prefix, rest) = (&pattern[..open], &pattern[close..]);
    let Some(tail) = name.strip_prefix(prefix) else {
        return false;
    };
    (1..=tail.len())
        .take_while(|&n| !tail[..n].contains('/'))
        .filter(|&n| tail.is_char_boundary(n))
        .any(|n| matches(rest, &tail[n..]))
}

/// Whether a row's meaning says its datasets are written only under a condition: it
/// starts "with `<key>` …", "only …" or "synthetic data only".
fn conditional(meaning: &str) -> bool {
    let m = meaning.trim();
    m.starts_with("with `") || m.starts_with("only ") || m.starts_with("synthetic data only")
}

/// kind → the dataset patterns its table in docs/results.md names, each with whether its
/// row says it is written only under a condition.
fn documented_datasets() -> BTreeMap<String, Vec<(String, bool)>> {
    sections(&read("docs/results.md"))
        .into_iter()
        .map(|(kind, text)| {
            let names = text
                .lines()
                .filter(|line| line.starts_with("| `"))
                .flat_map(|line| {
                    let cells: Vec<&str> = line.split('|').collect();
                    let optional = conditional(cells.get(3).copied().unwrap_or_default());
                    cells
                        .get(1)
                        .copied()
                        .unwrap_or_default()
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .flat_map(expand_braces)
                        .map(|p| (p, optional))
                        .collect::<Vec<_>>()
                })
                .collect();
            (kind, names)
        })
        .collect()
}

#[test]
fn every_documented_dataset_is_written_and_every_written_dataset_is_documented() {
    let documented = documented_datasets();
    let dir = tempfile::tempdir().expect("temp dir");
    small_results(dir.path());
    // With a held-out split, so that its datasets are written too.
    run_small(dir.path(), "fig6_table2", &["data.eval_fraction=0.2"]);
    let script = "import sys, h5py\n\
        for path in sys.argv[1:]:\n\
        \x20   f = h5py.File(path, 'r')\n\
        \x20   names = []\n\
        \x20   f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)\n\
        \x20   print(f.attrs['kind'], ' '.join(names))\n";
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .expect("results")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    let args: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let listing = common::python(script, &args);
    let mut seen = BTreeSet::new();
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        let mut words = line.split_whitespace();
        let kind = words.next().expect("kind").to_string();
        let written: Vec<&str> = words.collect();
        let patterns = documented
            .get(&kind)
            .unwrap_or_else(|| panic!("docs/results.md has no section for kind `{kind}`"));
        for dataset in &written {
            assert!(
                patterns.iter().any(|(p, _)| matches(p, dataset)),
                "`{dataset}` of a {kind} file is not in docs/results.md"
            );
        }
        // A row that says it is conditional ("with `data.flip_labels` > 0", "only where …",
        // "synthetic data only") may be absent from these files; tests/adjusted.rs,
        // tests/sweep.rs and tests/sequence.rs write and check those datasets.
        for (pattern, optional) in patterns {
            assert!(
                *optional || written.iter().any(|d| matches(pattern, d)),
                "docs/results.md names `{pattern}`, which a {kind} file lacks"
            );
        }
        seen.insert(kind);
    }
    assert_eq!(
        seen,
        documented.keys().cloned().collect::<BTreeSet<_>>(),
        "every documented kind was checked against a file"
    );
}

/// The `[constraints.NAME]` keys the schema of `kind` parses, read from its own error for
/// an unknown one.
fn parsed_constraints(dir: &Path, kind: &str, minimal: &str) -> BTreeSet<String> {
    let text = format!("{minimal}\n[constraints.not_a_constraint]\nx = 1\n");
    let error = resolve(dir, &format!("{kind}_unknown"), &text).expect_err("must be refused");
    if !error.contains("constraints.not_a_constraint") {
        // No `[constraints]` table at all.
        assert!(error.contains("constraints"), "{error}");
        return BTreeSet::new();
    }
    let expected = error
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no list of keys in: {error}"));
    expected
        .lines()
        .next()
        .unwrap_or_default()
        .split(" (from")
        .next()
        .unwrap_or_default()
        .trim()
        .split(", ")
        .map(str::to_string)
        .collect()
}

#[test]
fn workbench_list_offers_exactly_what_the_schemas_parse() {
    let listed = String::from_utf8_lossy(&workbench(&["list", "constraints"]).stdout).into_owned();
    let mut offered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in listed.lines().skip(1) {
        let trimmed = line.trim();
        if let Some(kinds) = trimmed.strip_prefix("kinds: ") {
            for kind in kinds.split(", ") {
                offered
                    .entry(kind.to_string())
                    .or_default()
                    .insert(current.clone());
            }
        } else if !trimmed.is_empty() {
            current = trimmed
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    }
    let doc = read("docs/configuration.md");
    let dir = tempfile::tempdir().expect("temp dir");
    for (kind, text) in sections(&doc) {
        let minimal = &toml_blocks(&text)[0];
        let parsed = parsed_constraints(dir.path(), &kind, minimal);
        assert_eq!(
            offered.get(&kind).cloned().unwrap_or_default(),
            parsed,
            "`workbench list constraints` for {kind}"
        );
    }
    // A listed policy is usable: each one listed for weight_decay_sweep validates there.
    let policies = String::from_utf8_lossy(&workbench(&["list", "policies"]).stdout).into_owned();
    for name in ["softmax", "convex_mixture", "two_point"] {
        assert!(policies.contains(name), "{policies}");
    }
}

#[test]
fn no_doc_or_comment_points_outside_the_repository() {
    let mut files = vec![repo("README.md")];
    for folder in [
        "docs",
        "workbench",
        "backends",
        "reports",
        "src",
        "experiments",
        "scripts",
        "tests",
        "examples",
        ".ci",
    ] {
        collect(Path::new(&repo(folder)), &mut files);
    }
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // Spelled in pieces so that this file does not match itself.
        for needle in [
            concat!("../", "shared"),
            concat!("shared/", "docs"),
            concat!("shared/", "seed"),
            concat!("EXPERIMENTS", ".md"),
            concat!("DESIGN", ".md"),
            concat!("STYLE", ".md"),
        ] {
            assert!(!text.contains(needle), "{file} mentions `{needle}`");
        }
        if file.ends_with(".md") {
            let base = Path::new(file).parent().expect("folder");
            for link in text.split("](").skip(1).filter_map(|l| l.split(')').next()) {
                let (target, anchor) = link.split_once('#').unwrap_or((link, ""));
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let path = if target.is_empty() {
                    Path::new(file).to_path_buf()
                } else {
                    base.join(target)
                };
                assert!(path.exists(), "{file} links to missing `{link}`");
                if !anchor.is_empty() {
                    let heads = anchors(&std::fs::read_to_string(&path).unwrap_or_default());
                    assert!(
                        heads.contains(anchor),
                        "{file} links to `{link}`, but {} has no heading `#{anchor}` (it has {heads:?})",
                        path.display()
                    );
                }
            }
        }
    }
}

/// Every file under `dir`, recursively.
fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path.display().to_string());
        }
    }
}

/// The anchors GitHub gives a Markdown file's headings: lower case, with every character
/// but letters, digits, `-`, `_` and spaces dropped and spaces made `-` (code fences skipped).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let heading = line.trim_start_matches('#');
        if in_code || heading.len() == line.len() || !heading.starts_with(' ') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        out.insert(slug);
    }
    out
}

/// The docs pages, each a Markdown file in docs/ (a page removed or added without a README
/// link fails below).
const DOCS_PAGES: &[&str] = &[
    "docs/adding-a-loss.md",
    "docs/architecture.md",
    "docs/backends.md",
    "docs/cli.md",
    "docs/cluster.md",
    "docs/configuration.md",
    "docs/experiments.md",
    "docs/pretrained.md",
    "docs/results.md",
    "docs/section-5.3.md",
    "docs/speed.md",
];

#[test]
fn the_readme_is_a_short_front_door_that_links_every_docs_page() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; move detail into docs/"
    );

    // The two commands, exactly, and CI runs the test command.
    for command in ["bash scripts/reproduce.sh", "bash scripts/test.sh"] {
        assert!(
            readme.contains(&format!("\n{command} ")),
            "README.md lacks the command `{command}`"
        );
    }
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == "bash scripts/test.sh"),
        ".ci/run does not run the README's test command"
    );

    // What the README must still show, briefly.
    for needle in [
        "--backend",
        "--set",
        "[sweep]",
        "results/",
        ".h5",
        "reports/out/report.html",
        "](docs/fig2_weight_decay.png)",
        "](docs/adding-a-loss.md)",
        "workbench::losses::PairwiseLoss",
    ] {
        assert!(
            readme.contains(needle),
            "README.md no longer shows `{needle}`"
        );
    }

    // Every docs page exists, is listed above, and the README links it.
    let mut present = BTreeSet::new();
    for entry in std::fs::read_dir(repo("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            present.insert(format!(
                "docs/{}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert_eq!(
        present,
        DOCS_PAGES.iter().map(|p| p.to_string()).collect(),
        "docs pages (update DOCS_PAGES and the README's links together)"
    );
    for page in DOCS_PAGES {
        assert!(
            readme.contains(&format!("]({page})")) || readme.contains(&format!("]({page}#")),
            "README.md does not link {page}"
        );
    }
}

#[test]
fn the_readmes_experiment_and_sweep_validate() {
    let readme = read("README.md");
    let blocks = toml_blocks(&readme);
    let dir = tempfile::tempdir().expect("temp dir");
    // The experiment of "Writing an experiment": a complete file.
    let experiment = blocks
        .iter()
        .find(|b| b.contains("kind = "))
        .expect("README.md shows an experiment file");
    resolve(dir.path(), "readme_experiment", experiment)
        .unwrap_or_else(|e| panic!("README.md's experiment: {e}"));
    // The tour's sweep: Figure 2's file, renamed, with the README's `[sweep]` table.
    let sweep = blocks
        .iter()
        .find(|b| b.contains("[sweep]"))
        .expect("README.md shows a [sweep] table");
    let figure2 = read("experiments/fig2_weight_decay.toml")
        .replace("name = \"fig2_weight_decay\"", "name = \"my_beta_sweep\"");
    assert!(
        figure2.contains("name = \"my_beta_sweep\""),
        "Figure 2's file has a `name`"
    );
    let file = dir.path().join("my_beta_sweep.toml");
    std::fs::write(&file, format!("{figure2}\n{sweep}")).expect("write");
    let output = workbench(&["validate", &file.display().to_string()]);
    assert!(
        output.status.success(),
        "README.md's sweep: {}",
        stderr(&output)
    );
}
