//! Tests of the sweep section: sweep files written as the CLI writes them.

use super::{Fixture, MODE, SYNTHETIC, check_figure, check_links, folder, render};
use crate::build_report;
use crate::figures::Section;
use crate::fmt_num;
use crate::stats::{MeanCi, t_quantile};

/// t_{0.975, 2}, from tables.
const T_2: f64 = 4.302652729749464;
/// t_{0.975, 9}, from tables.
const T_9: f64 = 2.262157162740992;

/// A swept value as the sweep file stores it.
#[derive(Clone, Copy)]
enum V {
    N(f64),
    T(&'static str),
}

/// One point's outcome: status and summary values.
type Outcome = (&'static str, Vec<(&'static str, f64)>);

/// A sweep file over `grid` (first key slowest) times `seeds` (fastest), each point's status
/// and summaries given by `point(grid indices, seed index)`.
fn sweep_file(
    point_kind: &str,
    config: &str,
    grid: &[(&str, Vec<V>)],
    seeds: &[f64],
    point: impl Fn(&[usize], usize) -> Outcome,
) -> Fixture {
    let keys: Vec<String> = grid.iter().map(|(k, _)| format!("\"{k}\"")).collect();
    let mut combos: Vec<Vec<usize>> = vec![Vec::new()];
    for (_, values) in grid {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    let seed_list: Vec<Option<usize>> = if seeds.is_empty() {
        vec![None]
    } else {
        (0..seeds.len()).map(Some).collect()
    };
    let mut points = Vec::new();
    for c in &combos {
        for s in &seed_list {
            points.push((c.clone(), *s));
        }
    }
    let n = points.len();
    let mut f = Fixture::new("my_sweep", "sweep", config)
        .attr("point_kind", point_kind)
        .attr(
            "sweep_toml",
            "grid = { \"dpo.lr\" = [1e-3, 1e-4] }\nseeds = 3\n",
        )
        .attr("swept_keys", &format!("[{}]", keys.join(", ")))
        .attr(
            "seed_keys",
            if seeds.is_empty() {
                "[]"
            } else {
                "[\"data.seed\", \"model.seed\"]"
            },
        );
    for (k, (name, values)) in grid.iter().enumerate() {
        let path = format!("sweep/{name}");
        if values.iter().all(|v| matches!(v, V::N(_))) {
            let x = points
                .iter()
                .map(|(c, _)| match values[c[k]] {
                    V::N(x) => x,
                    V::T(_) => unreachable!(),
                })
                .collect();
            f = f.vec(&path, x);
        } else {
            let x = points
                .iter()
                .map(|(c, _)| match values[c[k]] {
                    V::N(x) => x.to_string(),
                    V::T(t) => t.to_owned(),
                })
                .collect();
            f = f.texts(&path, x);
        }
    }
    if !seeds.is_empty() {
        f = f.vec(
            "sweep/seed",
            points.iter().map(|(_, s)| seeds[s.unwrap_or(0)]).collect(),
        );
    }
    let outcomes: Vec<Outcome> = points
        .iter()
        .map(|(c, s)| point(c, s.unwrap_or(0)))
        .collect();
    let mut names: Vec<&str> = outcomes
        .iter()
        .flat_map(|(_, v)| v.iter().map(|(n, _)| *n))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let values = outcomes
            .iter()
            .map(|(status, v)| match v.iter().find(|(m, _)| *m == name) {
                Some((_, x)) if *status == "done" => *x,
                _ => f64::NAN,
            })
            .collect();
        f = f.vec(&format!("summary/{name}"), values);
    }
    let digits = n.to_string().len().max(4);
    f.texts(
        "sweep/status",
        outcomes.iter().map(|(s, _)| s.to_string()).collect(),
    )
    .texts(
        "sweep/error",
        outcomes
            .iter()
            .enumerate()
            .map(|(i, (s, _))| {
                if *s == "failed" {
                    format!("boom at point {i}")
                } else {
                    String::new()
                }
            })
            .collect(),
    )
    .texts(
        "sweep/file",
        (0..n)
            .map(|i| format!("my_sweep/point-{i:0digits$}.h5"))
            .collect(),
    )
}

/// Mean, sd (ddof = 1) and the t interval with quantile `t`, computed here by hand.
fn by_hand(v: &[f64], t: f64) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    let half = t * sd / n.sqrt();
    (mean, sd, mean - half, mean + half)
}

/// The row of `table` whose first cells are `first`.
fn row<'a>(table: &'a crate::figures::Table, first: &[&str]) -> &'a [String] {
    table
        .rows
        .iter()
        .find(|r| r.iter().zip(first).all(|(c, f)| c == f))
        .unwrap_or_else(|| panic!("no row {first:?} in {:#?}", table.rows))
}

/// Column `col` of `r` in `table`.
fn col(table: &crate::figures::Table, r: &[String], col: &str) -> String {
    let c = table
        .header
        .iter()
        .position(|h| h == col)
        .unwrap_or_else(|| panic!("no column {col} in {:?}", table.header));
    r[c].clone()
}

/// The table whose caption starts with `start`.
fn table<'a>(r: &'a crate::figures::Rendered, start: &str) -> &'a crate::figures::Table {
    r.tables
        .iter()
        .find(|t| t.caption.starts_with(start))
        .unwrap_or_else(|| panic!("no table {start}"))
}

#[test]
fn t_quantiles_and_intervals_match_the_tables() {
    assert!((t_quantile(0.975, 2) - T_2).abs() < 1e-9);
    assert!((t_quantile(0.975, 9) - T_9).abs() < 1e-9);
    let v = [1.0, 2.0, 4.0];
    let m = MeanCi::of(&v).expect("values");
    let (mean, sd, lo, hi) = by_hand(&v, T_2);
    assert_eq!(m.n, 3);
    assert!((m.mean - mean).abs() < 1e-12);
    assert!((m.sd.expect("sd") - sd).abs() < 1e-12);
    let (a, b) = m.ci.expect("ci");
    assert!((a - lo).abs() < 1e-9 && (b - hi).abs() < 1e-9, "{a} {b}");
    let one = MeanCi::of(&[0.7]).expect("one");
    assert_eq!((one.mean, one.sd, one.ci), (0.7, None, None));
    assert!(MeanCi::of(&[]).is_none());
}

/// z of point (lr, beta, seed) of the numbers fixture.
fn z_of(c: &[usize], s: usize) -> f64 {
    [
        [[1.0, 2.0, 4.0], [0.5, 1.5, 2.0]],
        [[-3.0, -1.0, 2.5], [7.0, 0.0, 0.0]],
    ][c[0]][c[1]][s]
}

/// A 2 x 2 grid over dpo.lr and dpo.beta, three seeds; at lr = 1e-4, beta = 1 seed 1 failed
/// and seed 2 is missing, and at lr = 1e-3, beta = 1 seed 2 is done without `extra`.
fn numbers_fixture() -> Fixture {
    sweep_file(
        "sequence_dpo",
        SYNTHETIC,
        &[
            ("dpo.lr", vec![V::N(1e-3), V::N(1e-4)]),
            ("dpo.beta", vec![V::N(0.1), V::N(1.0)]),
        ],
        &[0.0, 1.0, 2.0],
        |c, s| {
            let status = match (c, s) {
                ([1, 1], 1) => "failed",
                ([1, 1], 2) => "missing",
                _ => "done",
            };
            let mut v = vec![
                ("z_paper_direction", z_of(c, s)),
                ("rank_biserial", -0.1 * z_of(c, s)),
                ("mean_log_ratio_change_difference", -0.1 * z_of(c, s)),
            ];
            if !(c == [0, 1] && s == 2) {
                v.push(("extra", 10.0 * c[0] as f64 + s as f64));
            }
            (status, v)
        },
    )
}

#[test]
fn sweep_table_gives_means_intervals_and_left_out_points() {
    let r = render("sweep", "my_sweep.h5", numbers_fixture());
    let t = table(&r, "summary/z_paper_direction");
    assert_eq!(
        t.header,
        [
            "dpo.lr",
            "dpo.beta",
            "n (seeds done)",
            "left out",
            "mean",
            "95 % CI low",
            "95 % CI high",
            "sd",
            "note"
        ]
    );
    assert_eq!(t.rows.len(), 4);
    // Rows in file order: the first key slowest.
    assert_eq!(t.rows[0][..2], ["0.001", "0.1"]);
    assert_eq!(t.rows[1][..2], ["0.001", "1"]);
    assert_eq!(t.rows[2][..2], ["1e-4", "0.1"]);
    for (lr, beta, values) in [
        ("0.001", "0.1", [1.0, 2.0, 4.0]),
        ("0.001", "1", [0.5, 1.5, 2.0]),
        ("1e-4", "0.1", [-3.0, -1.0, 2.5]),
    ] {
        let r = row(t, &[lr, beta]);
        let (mean, sd, lo, hi) = by_hand(&values, T_2);
        assert_eq!(col(t, r, "n (seeds done)"), "3");
        assert_eq!(col(t, r, "left out"), "0");
        assert_eq!(col(t, r, "mean"), fmt_num(mean));
        assert_eq!(col(t, r, "sd"), fmt_num(sd));
        assert_eq!(col(t, r, "95 % CI low"), fmt_num(lo), "{lr} {beta}");
        assert_eq!(col(t, r, "95 % CI high"), fmt_num(hi), "{lr} {beta}");
        assert_eq!(col(t, r, "note"), "");
    }
    // One seed done of three: the mean without an interval, the others counted.
    let one = row(t, &["1e-4", "1"]);
    assert_eq!(col(t, one, "n (seeds done)"), "1");
    assert_eq!(col(t, one, "mean"), "7");
    assert_eq!(col(t, one, "left out"), "1 failed, 1 missing");
    assert_eq!(col(t, one, "95 % CI low"), "—");
    assert_eq!(col(t, one, "sd"), "—");
    assert_eq!(col(t, one, "note"), "1 seed: no interval");
    // A done point without a value is left out and counted too.
    let extra = table(&r, "summary/extra");
    let r2 = row(extra, &["0.001", "1"]);
    assert_eq!(col(extra, r2, "n (seeds done)"), "2");
    assert_eq!(col(extra, r2, "left out"), "1 done without a value");
    let (mean, _, lo, hi) = by_hand(&[0.0, 1.0], 12.706204736174698);
    assert_eq!(col(extra, r2, "mean"), fmt_num(mean));
    assert_eq!(col(extra, r2, "95 % CI low"), fmt_num(lo));
    assert_eq!(col(extra, r2, "95 % CI high"), fmt_num(hi));

    // The caption: the sweep, the point kind, the counts and the failed point's error.
    assert!(
        r.caption.contains("of `sequence_dpo` points"),
        "{}",
        r.caption
    );
    assert!(
        r.caption
            .contains("(sweep table: grid = { \"dpo.lr\" = [1e-3, 1e-4] }; seeds = 3)"),
        "{}",
        r.caption
    );
    assert!(
        r.caption
            .contains("12 points: 10 done, 1 failed, 1 missing."),
        "{}",
        r.caption
    );
    assert!(
        r.caption.contains(
            "Failed: `my_sweep/point-0010.h5` (dpo.lr = 1e-4, dpo.beta = 1, seed = 1): boom at point 10."
        ),
        "{}",
        r.caption
    );
    assert!(r.caption.contains("1 seed: no interval"), "{}", r.caption);
    assert!(
        r.caption
            .contains("The seed is written to data.seed, model.seed"),
        "{}",
        r.caption
    );
    assert!(r.caption.contains("one line per combination of dpo.beta"));
    let nd = table(&r, "Points not done");
    assert_eq!(nd.rows.len(), 2);
    assert_eq!(
        nd.rows[0],
        [
            "my_sweep/point-0010.h5",
            "failed",
            "dpo.lr = 1e-4, dpo.beta = 1, seed = 1",
            "boom at point 10"
        ]
    );
    assert_eq!(nd.rows[1][1], "missing");
    assert!(r.blocks[0].text.contains("seeds = 3"));
    assert!(r.blocks[1].text.contains("[dpo]"));
}

#[test]
fn sweep_figures_are_written_one_per_summary() {
    let (dir, results) = folder(vec![("my_sweep.h5", numbers_fixture())]);
    // The point files live in a subfolder, which the report does not read.
    std::fs::create_dir(results.join("my_sweep")).expect("mkdir");
    std::fs::write(results.join("my_sweep/point-0000.h5"), "not read").expect("write");
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.sections,
        ["Sweep of sequence_dpo over dpo.lr, dpo.beta and seeds (my_sweep.h5)"]
    );
    for stem in [
        "my_sweep_extra",
        "my_sweep_mean_log_ratio_change_difference",
        "my_sweep_z_paper_direction",
    ] {
        check_figure(&out, stem);
    }
    let svg = std::fs::read_to_string(out.join("my_sweep_z_paper_direction.svg")).expect("svg");
    assert!(
        svg.contains("dpo.beta = 0.1") && svg.contains("dpo.beta = 1"),
        "legend"
    );
    assert!(svg.contains("z_paper_direction vs dpo.lr"));
    check_links(&report);
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(
        md.contains("| dpo.lr | dpo.beta | n (seeds done) |"),
        "{md}"
    );
    assert!(md.contains("Finding (Section 5.3 ablation"), "{md}");
}

#[test]
fn categorical_first_key_and_log_scale() {
    // A text first key: categories, ticks named by the values.
    let f = sweep_file(
        "sequence_dpo",
        SYNTHETIC,
        &[
            (
                "data.generator",
                vec![V::T("controlled"), V::T("confounded")],
            ),
            ("data.lengths", vec![V::T("[2, 6]"), V::N(4.0)]),
        ],
        &[0.0, 1.0],
        |c, s| ("done", vec![("score", (c[0] * 10 + c[1] * 2 + s) as f64)]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cats.h5");
    f.write(&path);
    let r = {
        let file = crate::h5::ResultsFile::open(&path).expect("open");
        let cfg = crate::config::Config::of(&file);
        crate::register_fonts();
        crate::figures::sweep::Sweep
            .render(&file, &cfg, &mut crate::figures::FigureDir::new(dir.path()))
            .expect("renders")
    };
    assert!(
        r.caption.contains("(categories, in the order of the file"),
        "{}",
        r.caption
    );
    let svg = std::fs::read_to_string(dir.path().join("cats_score.svg")).expect("svg");
    assert!(
        svg.contains("\ncontrolled\n</text>") && svg.contains("\nconfounded\n</text>"),
        "tick labels"
    );
    assert!(svg.contains("data.lengths = [2, 6]") && svg.contains("data.lengths = 4"));
    check_figure(dir.path(), "cats_score");
    let t = table(&r, "summary/score");
    let r1 = row(t, &["confounded", "[2, 6]"]);
    assert_eq!(col(t, r1, "mean"), "10.5");

    // Three decades of a numeric first key: log scale.
    let f = sweep_file(
        "sequence_dpo",
        SYNTHETIC,
        &[("dpo.lr", vec![V::N(1e-2), V::N(1e-3), V::N(1e-4)])],
        &[],
        |c, _| ("done", vec![("score", c[0] as f64)]),
    );
    let r = render("sweep", "logs.h5", f);
    assert!(r.caption.contains("dpo.lr (log scale"), "{}", r.caption);
    assert!(
        r.caption.contains("The sweep has no seeds"),
        "{}",
        r.caption
    );
    assert!(r.caption.contains(", one line:"), "{}", r.caption);
    let t = table(&r, "summary/score");
    assert_eq!(col(t, row(t, &["0.01"]), "note"), "1 seed: no interval");
}

/// A sequence_dpo sweep over `grid` x `seeds` whose rank-biserial correlation per
/// (grid indices, seed) is `r`.
fn ablation(
    grid: &[(&str, Vec<V>)],
    seeds: &[f64],
    r: impl Fn(&[usize], usize) -> f64,
) -> crate::figures::Rendered {
    let f = sweep_file("sequence_dpo", SYNTHETIC, grid, seeds, |c, s| {
        (
            "done",
            vec![
                ("rank_biserial", r(c, s)),
                ("z_paper_direction", -10.0 * r(c, s)),
                ("mean_log_ratio_change_difference", 0.1 * r(c, s)),
            ],
        )
    });
    render("sweep", "ablation.h5", f)
}

fn lr_beta() -> Vec<(&'static str, Vec<V>)> {
    vec![
        ("dpo.lr", vec![V::N(1e-3), V::N(1e-4)]),
        ("dpo.beta", vec![V::N(0.1), V::N(1.0)]),
    ]
}

/// The two-sided p of the one-sample t-test of `v` against 0, from statrs' t distribution.
fn t_test(v: &[f64]) -> f64 {
    MeanCi::of(v).unwrap().t_test_p().unwrap()
}

#[test]
fn finding_follows_the_key_that_decides_the_direction() {
    // lr = 1e-3: r = −0.30, −0.35, −0.40 (+ −0.02 at β = 1); lr = 1e-4: the same, positive.
    let r = ablation(&lr_beta(), &[0.0, 1.0, 2.0], |c, s| {
        let r = -(0.3 + 0.05 * s as f64 + 0.02 * c[1] as f64);
        if c[0] == 0 { r } else { -r }
    });
    let finding = &r.notes[0];
    assert!(
        finding.starts_with("Finding (Section 5.3 ablation, from summary/rank_biserial"),
        "{finding}"
    );
    assert!(
        finding.contains("Holm-corrected over the 4 distinct settings with at least 2 done seeds"),
        "{finding}"
    );
    assert!(
        finding.contains("Over the 4 settings of dpo.lr, dpo.beta (seeds pooled): paper's direction in 2, reversed in 2, undetermined in 0, not classified in 0"),
        "{finding}"
    );
    let values = [-0.3, -0.35, -0.4];
    let (_, _, lo, hi) = by_hand(&values, T_2);
    // Holm: four p-values, the β = 0.1 pair the larger (smaller |mean|, same sd); sorted,
    // small × 4, small × 3, large × 2, large × 1, each raised to the running maximum.
    let (small, large) = (t_test(&[-0.32, -0.37, -0.42]), t_test(&values));
    assert!(small < large);
    let holm = (4.0 * small).max(2.0 * large);
    assert!(holm < 0.05, "{holm}");
    assert!(
        finding.contains(&format!(
            "The paper's direction appears under: dpo.lr = 0.001, dpo.beta = 0.1 (mean r -0.350, 95 % CI [{lo:.3}, {hi:.3}], 3 seeds, Holm p {})",
            fmt_num(holm)
        )),
        "{finding}"
    );
    assert!(
        finding.contains("It reverses under: dpo.lr = 1e-4, dpo.beta = 0.1"),
        "{finding}"
    );
    assert!(
        finding.contains("The direction follows dpo.lr (dpo.lr = 0.001: paper's direction; dpo.lr = 1e-4: reversed), whatever the other keys."),
        "{finding}"
    );
    assert!(!finding.contains("follows dpo.beta"), "{finding}");
    assert!(
        finding.contains("Seed-to-seed spread: the sd of the correlation over seeds has median 0.050 and maximum 0.050 over the 4 settings with at least two done seeds"),
        "{finding}"
    );
    assert!(
        finding.contains("is negative in 2 of the 4 settings with a value"),
        "{finding}"
    );
    let t = table(&r, "Section 5.3 ablation per setting");
    let paper = row(t, &["0.001", "0.1"]);
    assert_eq!(col(t, paper, "direction"), "paper's direction");
    assert_eq!(col(t, paper, "CI of mean r"), format!("[{lo:.3}, {hi:.3}]"));
    assert_eq!(col(t, paper, "t-test p"), fmt_num(large));
    assert_eq!(col(t, paper, "Holm p"), fmt_num(holm));
    assert_eq!(col(t, paper, "near-duplicate of"), "—");
    assert_eq!(col(t, row(t, &["1e-4", "1"]), "direction"), "reversed");
}

#[test]
fn near_duplicates_count_once_and_holm_can_leave_a_setting_undetermined() {
    // β = 1 repeats β = 0.1 within 0.004 at every seed: two tests, not four.
    let r = ablation(&lr_beta(), &[0.0, 1.0, 2.0], |c, s| {
        let r = -(0.3 + 0.05 * s as f64 + 0.004 * c[1] as f64);
        if c[0] == 0 { r } else { -r }
    });
    let finding = &r.notes[0];
    assert!(
        finding.contains("Holm-corrected over the 2 distinct settings"),
        "{finding}"
    );
    assert!(
        finding.contains("paper's direction in 2, reversed in 2"),
        "{finding}"
    );
    assert!(
        finding.contains("dpo.lr = 0.001, dpo.beta = 1 (near-duplicate of dpo.lr = 0.001, dpo.beta = 0.1; mean r -0.354"),
        "{finding}"
    );
    let t = table(&r, "Section 5.3 ablation per setting");
    let dup = row(t, &["0.001", "1"]);
    assert_eq!(
        col(t, dup, "near-duplicate of"),
        "dpo.lr = 0.001, dpo.beta = 0.1"
    );
    let holm = 2.0 * t_test(&[-0.3, -0.35, -0.4]);
    assert_eq!(col(t, dup, "Holm p"), fmt_num(holm));
    assert_eq!(col(t, row(t, &["0.001", "0.1"]), "Holm p"), fmt_num(holm));

    // Four distinct settings of mean r −0.2 and sds from 0.05 up, the smallest p near 0.02
    // (its 95 % interval excludes 0): Holm multiplies it by 4, so none is classified.
    let r = ablation(&lr_beta(), &[0.0, 1.0, 2.0], |c, s| {
        let sd = 0.05 + 0.011 * (2 * c[0] + c[1]) as f64;
        let r = -(0.2 + sd * (s as f64 - 1.0));
        if c[1] == 0 { r } else { -r }
    });
    let finding = &r.notes[0];
    let (_, _, _, hi) = by_hand(&[-0.15, -0.2, -0.25], T_2);
    assert!(hi < 0.0, "the unadjusted interval excludes 0");
    assert!(
        finding.contains(
            "paper's direction in 0, reversed in 0, undetermined in 4, not classified in 0"
        ),
        "{finding}"
    );
    let p = t_test(&[-0.15, -0.2, -0.25]);
    assert!(p < 0.05 && 4.0 * p > 0.05, "{p}");
}

#[test]
fn finding_says_undetermined_and_when_no_key_decides() {
    // (a, b) paper, (a, c) reversed, (d, b) reversed, (d, c) undetermined.
    let r = ablation(&lr_beta(), &[0.0, 1.0, 2.0, 3.0, 4.0], |c, s| {
        let spread = 0.01 * (s as f64 - 2.0);
        match (c[0], c[1]) {
            (0, 0) => -0.4 + spread,
            (0, 1) => 0.41 + spread,
            (1, 0) => 0.43 + spread,
            _ => 0.03 + 20.0 * spread,
        }
    });
    let finding = &r.notes[0];
    assert!(
        finding.contains("paper's direction in 1, reversed in 2, undetermined in 1"),
        "{finding}"
    );
    let values: Vec<f64> = (0..5).map(|s| 0.03 + 0.2 * (s as f64 - 2.0)).collect();
    let (_, _, lo, hi) = by_hand(&values, t_quantile(0.975, 4));
    assert!(lo < 0.0 && hi > 0.0);
    assert!(
        finding.contains(&format!(
            "It is undetermined under: dpo.lr = 1e-4, dpo.beta = 1 (mean r 0.030, 95 % CI [{lo:.3}, {hi:.3}], 5 seeds"
        )),
        "{finding}"
    );
    assert!(
        finding.contains("No single swept key decides the direction"),
        "{finding}"
    );
}

#[test]
fn a_single_run_is_never_classified() {
    // No seeds: one run per setting, whatever its correlation.
    let rs = [[-0.9, -0.05], [0.8, 0.1]];
    let r = ablation(&lr_beta(), &[], |c, _| rs[c[0]][c[1]]);
    let finding = &r.notes[0];
    assert!(
        finding.contains(
            "paper's direction in 0, reversed in 0, undetermined in 0, not classified in 4"
        ),
        "{finding}"
    );
    assert!(
        finding.contains(
            "Not classified (one done seed): dpo.lr = 0.001, dpo.beta = 0.1 (r -0.900, 1 seed)"
        ),
        "{finding}"
    );
    assert!(
        finding.contains("not independent replications")
            || finding.contains("as independent replications, which they are not"),
        "{finding}"
    );
    assert!(
        finding.contains("No setting has two done seeds"),
        "{finding}"
    );
    assert!(!finding.contains("follows"), "{finding}");
    let t = table(&r, "Section 5.3 ablation per setting");
    assert_eq!(
        col(t, row(t, &["0.001", "0.1"]), "direction"),
        "not classified"
    );
    assert_eq!(col(t, row(t, &["0.001", "0.1"]), "Holm p"), "—");

    // Every setting the paper's direction: no key decides, and the sentence says so.
    let r = ablation(&lr_beta(), &[0.0, 1.0, 2.0], |c, s| {
        -0.5 - 0.1 * c[0] as f64 - 0.03 * c[1] as f64 - 0.01 * s as f64
    });
    let finding = &r.notes[0];
    assert!(
        finding.contains("paper's direction in 4, reversed in 0, undetermined in 0"),
        "{finding}"
    );
    assert!(
        finding.contains("Every classified setting is paper's direction: the direction does not change over the swept values."),
        "{finding}"
    );
}

#[test]
fn no_finding_without_both_summaries() {
    let f = sweep_file(
        "sequence_dpo",
        SYNTHETIC,
        &lr_beta(),
        &[0.0, 1.0],
        |_, s| ("done", vec![("rank_biserial", -0.3 - 0.1 * s as f64)]),
    );
    let r = render("sweep", "half.h5", f);
    assert!(
        r.notes.iter().all(|n| !n.contains("Finding")),
        "{:?}",
        r.notes
    );
    assert!(
        r.tables
            .iter()
            .all(|t| !t.caption.starts_with("Section 5.3"))
    );
}

#[test]
fn mode_seeking_sweep_compares_theta_dpo_with_the_paper() {
    let sampled = MODE.replace("mode = \"expected\"", "mode = \"sampled\"");
    let thetas = [0.40, 0.42, 0.45, 0.39, 0.43, 0.41, 0.44, 0.40, 0.42, 0.38];
    let seeds: Vec<f64> = (0..10).map(|s| s as f64).collect();
    let f = sweep_file(
        "mode_seeking",
        &sampled,
        &[("bandit.beta", vec![V::N(1.0), V::N(0.5)])],
        &seeds,
        |c, s| {
            (
                "done",
                vec![
                    ("theta_dpo", thetas[s] + 0.1 * c[0] as f64),
                    ("theta_rlhf", 1.0),
                ],
            )
        },
    );
    let r = render("sweep", "mode_sweep.h5", f);
    let (mean, _, lo, hi) = by_hand(&thetas, T_9);
    let line = &r.notes[0];
    assert!(
        line.starts_with(&format!(
            "θ_DPO over seeds (summary/theta_dpo; bandit.beta = 1; data.mode = sampled): mean {mean:.3} ± {:.3} (95 % CI [{lo:.3}, {hi:.3}], 10 done seeds) against the paper's θ_DPO = 0.44 (Section 3.3, a reference value), which lies above the interval (paper − mean = {:+.3}).",
            (hi - lo) / 2.0,
            0.44 - mean
        )),
        "{line}"
    );
    assert!(hi < 0.44);
    assert!(
        r.notes[1]
            == "No paper value where the configuration is not the paper's setting for Mode seeking: bandit.beta = 0.5 (paper: 1) in 1 setting (bandit.beta = 0.5).",
        "{:?}",
        r.notes
    );
    let t = table(&r, "summary/theta_dpo");
    assert_eq!(col(t, row(t, &["1"]), "mean"), fmt_num(mean));
    assert!(r.notes.iter().all(|n| !n.contains("Finding")));
}

#[test]
fn malformed_sweep_files_name_the_dataset() {
    let broken = numbers_fixture()
        .without("summary/extra")
        .vec("summary/extra", vec![1.0, 2.0]);
    let (dir, results) = folder(vec![("my_sweep.h5", broken)]);
    let report = build_report(&results, &dir.path().join("out")).expect("report");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0]
            .contains("my_sweep.h5: dataset `summary/extra` has shape [2], expected [12]"),
        "{:?}",
        report.problems
    );
    let f = numbers_fixture().attr("swept_keys", "dpo.lr");
    let (dir, results) = folder(vec![("my_sweep.h5", f)]);
    let report = build_report(&results, &dir.path().join("out")).expect("report");
    assert!(
        report.problems[0].contains("root attribute `swept_keys` is not a TOML array of strings"),
        "{:?}",
        report.problems
    );
}

#[test]
fn the_ablation_over_steps_says_where_the_direction_changes() {
    // Steps 20, 40, 60 per point; the final summary is step 60's value. lr = 1e-3, β = 0.1
    // is reversed at step 20 and the paper's direction from 40 on; the others keep the
    // direction they end with. Point (1e-4, 1, seed 2) observed only steps 20 and 40: step
    // 60's test there has two seeds.
    let seeds = [0.0, 1.0, 2.0];
    let r_at = |c: &[usize], s: usize, step: usize| {
        let r = -(0.3 + 0.05 * s as f64 + 0.02 * c[1] as f64);
        match (c[0], c[1], step) {
            (0, 0, 0) => -r,
            (0, _, _) => r,
            (1, 1, _) => 0.5 + 0.002 * s as f64,
            _ => -r,
        }
    };
    let f = sweep_file("sequence_dpo", SYNTHETIC, &lr_beta(), &seeds, |c, s| {
        let r = r_at(c, s, 2);
        (
            "done",
            vec![
                ("rank_biserial", r),
                ("mean_log_ratio_change_difference", 0.1 * r),
            ],
        )
    });
    let mut step = Vec::new();
    let mut rank = Vec::new();
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for a in 0..2 {
        for b in 0..2 {
            for s in 0..3 {
                for k in 0..3 {
                    let short = a == 1 && b == 1 && s == 2 && k == 2;
                    let nan = |v: f64| if short { f64::NAN } else { v };
                    let r = r_at(&[a, b], s, k);
                    step.push(nan(20.0 * (k + 1) as f64));
                    rank.push(nan(r));
                    low.push(nan(0.1 * r));
                    high.push(nan(0.0));
                }
            }
        }
    }
    let f = f
        .set("trajectory/step", &[12, 3], step)
        .set("trajectory/rank_biserial", &[12, 3], rank)
        .set("trajectory/low_mean", &[12, 3], low)
        .set("trajectory/high_mean", &[12, 3], high);
    let r = render("sweep", "steps.h5", f);
    let over = r
        .notes
        .iter()
        .find(|n| n.starts_with("Over DPO steps"))
        .expect("a note on the steps");
    assert!(
        over.contains("3 observed steps (20–60)")
            && over.contains("3 of 4 settings have one direction at every observed step, the same as at the end")
            && over.contains("the direction changes with the number of DPO steps under 1: dpo.lr = 0.001, dpo.beta = 0.1 (reversed at step 20, paper's direction at step 40–60; at the end: paper's direction)"),
        "{over}"
    );
    let t = table(&r, "Section 5.3 ablation over DPO steps");
    assert_eq!(
        t.header[2..],
        ["step 20", "step 40", "step 60", "end"].map(String::from)
    );
    let changed = row(t, &["0.001", "0.1"]);
    assert_eq!(col(t, changed, "step 20"), "0.350 R");
    assert_eq!(col(t, changed, "step 40"), "-0.350 P");
    assert_eq!(col(t, changed, "end"), "-0.350 P");
    // Two seeds observed step 60 at (1e-4, 1): its mean is theirs.
    let short = row(t, &["1e-4", "1"]);
    assert_eq!(col(t, short, "step 60"), "0.501 R");
    assert_eq!(col(t, short, "step 40"), "0.502 R");
    assert_eq!(col(t, row(t, &["1e-4", "0.1"]), "step 20"), "0.350 R");

    // One seed: no step is classified, and the note says why.
    let f = sweep_file("sequence_dpo", SYNTHETIC, &lr_beta(), &[], |c, _| {
        let r = r_at(c, 0, 2);
        (
            "done",
            vec![
                ("rank_biserial", r),
                ("mean_log_ratio_change_difference", 0.1 * r),
            ],
        )
    })
    .set("trajectory/step", &[4, 2], [20.0, 40.0].repeat(4))
    .set("trajectory/rank_biserial", &[4, 2], [0.3, -0.3].repeat(4));
    let r = render("sweep", "one_seed.h5", f);
    assert!(
        r.notes.iter().any(|n| n.starts_with(
            "Over DPO steps (trajectory/rank_biserial, 20–40 observed): no setting has 2 done seeds at any step, so no step is classified"
        )),
        "{:?}",
        r.notes
    );
    let t = table(&r, "Section 5.3 ablation over DPO steps");
    assert_eq!(col(t, row(t, &["0.001", "0.1"]), "step 20"), "0.300 n");
}
