//! The Markdown and HTML writers.
//!
//! `report.md` links the PNGs beside it; `report.html` embeds each SVG inline, so it
//! shows everything when opened from disk, and links the SVG/PNG files beside it. Both
//! state a section's caption (what it shows, the configuration it was made from) once,
//! under its heading; each figure carries only its own short caption.

use std::fmt::Write as _;
use std::path::Path;

use crate::clip::{BLOCK, LINE, clip};
use crate::figures::{Block, Rendered, Table};

/// A rendered section with its heading.
pub struct Entry {
    /// Heading.
    pub title: String,
    /// What the section produced.
    pub rendered: Rendered,
}

/// Everything a report page shows besides the sections.
pub struct Page<'a> {
    /// Rendered sections, in order.
    pub entries: &'a [Entry],
    /// Problems met (figures not produced and why).
    pub problems: &'a [String],
    /// Paper items that no results file reproduces.
    pub missing: &'a [String],
    /// `*.h5` files that could not be read.
    pub unused: &'a [String],
    /// The results folder.
    pub results_dir: &'a Path,
}

/// Heading of the list of paper items that no results file reproduces.
const MISSING: &str = "Paper items no results file reproduces";
/// Heading of the list of `*.h5` files that could not be read.
const UNUSED: &str = "Results files that could not be read";

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('*', "\\*").replace('\n', " ")
}

fn md_table(md: &mut String, t: &Table) {
    let _ = writeln!(md, "{}\n", t.caption);
    let _ = writeln!(
        md,
        "| {} |",
        t.header
            .iter()
            .map(|h| md_cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(md, "|{}", "---|".repeat(t.header.len()));
    for r in &t.rows {
        let _ = writeln!(
            md,
            "| {} |",
            r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    md.push('\n');
}

/// A fenced block longer than any run of backticks in `b.text`, so the text cannot close it.
fn md_block(md: &mut String, b: &Block) {
    let longest = b.text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(
        md,
        "{}\n\n{fence}\n{}\n{fence}\n",
        b.caption,
        b.text.trim_end()
    );
}

fn md_list(md: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(md, "## {title}\n");
    for i in items {
        let _ = writeln!(md, "- {}", md_cell(i));
    }
    md.push('\n');
}

/// The Markdown report.
pub fn markdown(page: &Page) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# DPO workbench report\n\nGenerated from the results files in `{}`.\n",
        page.results_dir.display()
    );
    md_list(&mut md, "Problems", page.problems);
    for e in page.entries {
        let r = &e.rendered;
        let _ = writeln!(md, "## {}\n", e.title);
        let _ = writeln!(md, "{}\n", md_cell(&r.caption));
        let alt: String = e
            .title
            .chars()
            .filter(|c| !matches!(c, '[' | ']'))
            .collect();
        for f in &r.figures {
            let own = if f.caption.is_empty() {
                String::new()
            } else {
                format!("{} ", md_cell(&f.caption))
            };
            let _ = writeln!(
                md,
                "![{alt}]({stem}.png)\n\n{own}[SVG]({stem}.svg)\n",
                stem = f.stem
            );
        }
        for t in &r.tables {
            md_table(&mut md, t);
        }
        for b in &r.blocks {
            md_block(&mut md, b);
        }
        for n in &r.notes {
            let _ = writeln!(md, "> Note: {}\n", md_cell(n));
        }
    }
    md_list(&mut md, MISSING, page.missing);
    md_list(&mut md, UNUSED, page.unused);
    md
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Escapes text for HTML and turns Markdown `code` spans into `<code>` elements.
fn esc_code(s: &str) -> String {
    esc(s)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

fn html_table(h: &mut String, t: &Table) {
    let _ = writeln!(h, "<table>\n<caption>{}</caption>\n<tr>", esc(&t.caption));
    for c in &t.header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for r in &t.rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", esc(&clip(c, LINE)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn html_list(h: &mut String, title: &str, class: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(h, "<section class=\"{class}\"><h2>{}</h2><ul>", esc(title));
    for i in items {
        let _ = writeln!(h, "<li>{}</li>", esc(&clip(i, LINE)));
    }
    h.push_str("</ul></section>\n");
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1400px;margin:auto;padding:1em;color:#222}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{font-style:italic;margin-top:.5em}p.caption{font-style:italic}table{border-collapse:collapse;margin:1em 0}\
caption{text-align:left;font-weight:bold;padding:.3em 0}\
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}th{background:#eee}\
.problems{background:#fff3f3;border:1px solid #e99;padding:0 1em}.note{color:#555}\
pre{background:#f6f6f6;border:1px solid #ddd;padding:.5em;overflow-x:auto}";

/// The HTML report; figures are the SVG files in `out`, embedded inline.
pub fn html(page: &Page, out: &Path) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>DPO workbench report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>DPO workbench report</h1>\n<p>Generated from the results files in <code>{}</code>.</p>",
        esc(&page.results_dir.display().to_string())
    );
    html_list(&mut h, "Problems", "problems", page.problems);
    for e in page.entries {
        let r = &e.rendered;
        let _ = writeln!(
            h,
            "<section>\n<h2>{}</h2>\n<p class=\"caption\">{}</p>",
            esc(&e.title),
            esc_code(&r.caption)
        );
        for f in &r.figures {
            h.push_str("<figure>\n");
            match std::fs::read_to_string(out.join(format!("{}.svg", f.stem))) {
                Ok(svg) => {
                    let start = svg.find("<svg").unwrap_or(0);
                    h.push_str(&svg[start..]);
                }
                Err(_) => {
                    let _ = write!(
                        h,
                        "<img src=\"{}.png\" alt=\"{}\">",
                        esc(&f.stem),
                        esc(&e.title)
                    );
                }
            }
            let own = if f.caption.is_empty() {
                String::new()
            } else {
                format!("{} ", esc_code(&f.caption))
            };
            let _ = writeln!(
                h,
                "\n<figcaption>{own}(<a href=\"{stem}.svg\">SVG</a>, <a href=\"{stem}.png\">PNG</a>)</figcaption>\n</figure>",
                stem = esc(&f.stem)
            );
        }
        for t in &r.tables {
            html_table(&mut h, t);
        }
        for b in &r.blocks {
            let _ = writeln!(
                h,
                "<figure class=\"block\"><figcaption>{}</figcaption><pre>{}</pre></figure>",
                esc_code(&b.caption),
                esc(&clip(&b.text, BLOCK))
            );
        }
        for n in &r.notes {
            let _ = writeln!(h, "<p class=\"note\">Note: {}</p>", esc(&clip(n, LINE)));
        }
        h.push_str("</section>\n");
    }
    html_list(&mut h, MISSING, "missing", page.missing);
    html_list(&mut h, UNUSED, "unused", page.unused);
    h.push_str("</body>\n</html>\n");
    h
}
