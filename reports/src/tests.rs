//! Tests: tiny synthetic results files written with the `hdf5` crate.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5::types::VarLenUnicode;

use crate::build_report;

/// One fixture file: datasets by path with shape, and root string attributes.
#[derive(Default)]
struct Fixture {
    datasets: BTreeMap<String, (Vec<usize>, Vec<f64>)>,
    attrs: Vec<(String, String)>,
}

impl Fixture {
    fn new(experiment: &str, config: &str) -> Self {
        let mut f = Self::default();
        for (k, v) in [
            ("experiment", experiment),
            ("kind", experiment),
            ("config_toml", config),
            ("backend", "test"),
            ("dtype", "f64"),
            ("workbench_version", "0.0.0"),
            ("created_utc", "2000-01-01T00:00:00Z"),
        ] {
            f.attrs.push((k.into(), v.into()));
        }
        f
    }

    fn set(mut self, path: &str, shape: &[usize], values: Vec<f64>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>().max(1),
            values.len(),
            "{path}"
        );
        self.datasets.insert(path.into(), (shape.to_vec(), values));
        self
    }

    fn scalar(self, path: &str, v: f64) -> Self {
        self.set(path, &[], vec![v])
    }

    fn vec(self, path: &str, v: Vec<f64>) -> Self {
        let n = v.len();
        self.set(path, &[n], v)
    }

    fn without(mut self, path: &str) -> Self {
        self.datasets.remove(path);
        self
    }

    fn write(&self, path: &Path) {
        let file = hdf5::File::create(path).expect("create fixture");
        for (k, v) in &self.attrs {
            let v: VarLenUnicode = v.parse().expect("unicode");
            file.new_attr::<VarLenUnicode>()
                .create(k.as_str())
                .expect("attr")
                .write_scalar(&v)
                .expect("write attr");
        }
        for (p, (shape, values)) in &self.datasets {
            let (group, name) = match p.rsplit_once('/') {
                Some((g, n)) => (
                    file.group(g)
                        .or_else(|_| file.create_group(g))
                        .expect("group"),
                    n,
                ),
                None => (file.group("/").expect("root"), p.as_str()),
            };
            if shape.is_empty() {
                group
                    .new_dataset::<f64>()
                    .create(name)
                    .expect("dataset")
                    .write_scalar(&values[0])
                    .expect("write");
            } else {
                group
                    .new_dataset::<f64>()
                    .shape(shape.as_slice())
                    .create(name)
                    .expect("dataset")
                    .write_raw(values)
                    .expect("write");
            }
        }
    }
}

const BANDIT: &str = "distance = \"l2\"\n[bandit]\npi_star = [0.6, 0.3, 0.1]\npi_ref = [0.4, 0.4, 0.2]\nbeta = 1.0\n[data]\npairs = \"uniform\"\n[optimizer]\nname = \"adam\"\nlr = 0.01\nepochs = 4\n[[methods]]\nloss = \"dpo\"\n[[methods]]\nloss = \"ipo\"\n";

fn lin(n: usize, a: f64, b: f64) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

fn fixtures() -> Vec<(&'static str, Fixture)> {
    let a = 4;
    let alpha = vec![0.0, 0.01, 0.1, 1.0];
    let mut fig2 = Fixture::new("fig2_weight_decay", BANDIT).vec("alpha", alpha);
    let mut fig3 = Fixture::new("fig3_early_stopping", BANDIT).vec("epoch", lin(5, 0.0, 4.0));
    for (m, s) in [("dpo", 1.0), ("ipo", 2.0)] {
        fig2 = fig2
            .vec(&format!("{m}/distance"), lin(a, 0.0, 0.3 * s))
            .vec(&format!("{m}/distance_l2"), lin(a, 0.0, 0.3 * s))
            .set(&format!("{m}/policy"), &[a, 3], [0.6, 0.3, 0.1].repeat(a))
            .set(
                &format!("{m}/rlhf_policy"),
                &[a, 3],
                [0.5, 0.3, 0.2].repeat(a),
            );
        fig3 = fig3
            .vec(&format!("{m}/distance"), lin(5, 0.4 * s, 0.1))
            .vec(&format!("{m}/distance_converged"), lin(5, 0.5 * s, 0.0))
            .set(&format!("{m}/policy"), &[5, 3], [0.6, 0.3, 0.1].repeat(5))
            .set(
                &format!("{m}/rlhf_policy"),
                &[5, 3],
                [0.5, 0.3, 0.2].repeat(5),
            );
    }
    let mode = Fixture::new("mode_seeking", BANDIT)
        .scalar("theta_dpo", 0.4)
        .scalar("theta_rlhf", 1.0)
        .scalar("sampled/mean", 0.41)
        .scalar("sampled/std", 0.04)
        .vec("sampled/theta_dpo", vec![0.37, 0.45])
        .vec("trajectory/dpo", lin(6, 0.5, 0.4))
        .vec("trajectory/rlhf", lin(6, 0.5, 1.0));
    let t1 = Fixture::new(
        "table1_thresholding",
        "beta = 0.5\nratios = [0.1, 1.0, 5.0]\n[optimizer]\nname = \"gd\"\nlr = 0.01\nepochs = 3\n",
    )
    .vec("ratio", vec![0.1, 1.0, 5.0])
    .vec("theta", vec![1.0, 0.5, 0.38303])
    .vec("paper_theta", vec![0.77, 0.5, 0.39])
    .set(
        "trajectory",
        &[3, 4],
        vec![
            0.5, 0.7, 0.9, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.45, 0.4, 0.383,
        ],
    )
    .scalar("critical_ratio", 0.2007)
    .set(
        "stationary_points",
        &[2, 3],
        vec![1.0, 0.5, 1.0, 5.0, 0.38303, 1.0],
    );
    let fig5 = Fixture::new("fig5_one_step", "beta = 0.5\n")
        .vec("ratio", vec![0.01, 0.1, 1.0, 10.0])
        .vec("absolute_decrease", vec![0.001, 0.01, 0.02, 0.01])
        .vec("relative_decrease", vec![0.002, 0.02, 0.03, 0.015]);
    let u = lin(9, -2.0, 2.0);
    let fig4 = Fixture::new("fig4_penalty_curves", "gamma = [0.1, 1.0]\n")
        .vec("gamma", vec![0.1, 1.0])
        .set(
            "penalty",
            &[2, 9],
            u.iter().chain(&u).map(|x| x.abs() * 0.9).collect(),
        )
        .vec("l1", u.iter().map(|x| x.abs()).collect())
        .vec(
            "l0",
            u.iter()
                .map(|x| if *x == 0.0 { f64::NEG_INFINITY } else { 1.0 })
                .collect(),
        )
        .vec("u", u);
    let prop = Fixture::new("prop32_ratio_constraint", "epsilon = 0.1\n")
        .scalar("rlhf/ratio_13", 1.179)
        .scalar("ipo/ratio_13", 1.1786)
        .scalar("closed_form/rlhf_ratio_13", 1.17910)
        .scalar("closed_form/ipo_ratio_13", 1.17865)
        .scalar("closed_form/eq49_as_printed", 1.855)
        .scalar("min_ratio", 0.98)
        .vec("rlhf/policy", vec![0.35, 0.35, 0.3])
        .vec("ipo/policy", vec![0.35, 0.35, 0.3])
        .vec("unconstrained_optimum", vec![0.37, 0.33, 0.3]);
    vec![
        ("fig2_weight_decay.h5", fig2),
        ("fig3_early_stopping.h5", fig3),
        ("mode_seeking.h5", mode),
        ("table1_thresholding.h5", t1),
        ("fig5_one_step.h5", fig5),
        ("fig4_penalty_curves.h5", fig4),
        ("prop32_ratio_constraint.h5", prop),
        ("fig6_table2.h5", fig6(1.0, &[])),
        ("fig6_table2_hh.h5", with_lengths(fig6(-1.0, &[]), false)),
        (
            "fig6_table2_controlled.h5",
            with_lengths(fig6(1.0, &[]), true),
        ),
    ]
}

/// Adds the length and (with `synthetic`) reward-margin datasets of a 40 + 40-pair file.
fn with_lengths(f: Fixture, synthetic: bool) -> Fixture {
    let n = 40;
    let diff = |shift: f64| {
        (0..n)
            .map(|i| (i % 7) as f64 - 3.0 + shift)
            .collect::<Vec<_>>()
    };
    let mut f = f
        .vec("length_diff/low", diff(-1.0))
        .vec("length_diff/high", diff(1.0))
        .vec("lengths/chosen_low", lin(n, 2.0, 6.0))
        .vec("lengths/rejected_low", lin(n, 3.0, 9.0))
        .vec("lengths/chosen_high", lin(n, 4.0, 9.0))
        .vec("lengths/rejected_high", lin(n, 1.0, 5.0))
        .scalar("correlation/log_rho_ref_length/all", 0.83)
        .scalar("correlation/log_ratio_change_length/all", -0.41)
        .scalar("correlation/log_rho_ref_length/low", 0.2)
        .scalar("correlation/log_ratio_change_length/low", -0.1)
        .scalar("correlation/log_rho_ref_length/high", f64::NAN)
        .scalar("correlation/log_ratio_change_length/high", 0.05)
        .vec("lengths/scored_chosen_low", lin(n, 3.0, 7.0))
        .vec("lengths/scored_rejected_low", lin(n, 4.0, 8.0))
        .vec("lengths/scored_chosen_high", lin(n, 5.0, 8.0))
        .vec("lengths/scored_rejected_high", lin(n, 2.0, 6.0))
        .scalar("correlation/log_rho_ref_scored_length/low", 0.25)
        .scalar("correlation/log_rho_ref_scored_length/high", -0.5)
        .scalar("data/truncated_chosen", 3.0)
        .scalar("data/truncated_rejected", 5.0);
    if synthetic {
        f = f
            .vec("reward_margin/low", lin(n, -0.5, 1.5))
            .vec("reward_margin/high", lin(n, -0.4, 1.4))
            .scalar("label_noise/low", 0.25)
            .scalar("label_noise/high", 0.225);
    }
    f
}

/// Average ranks (ties averaged) of `values`, 1-based.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            ranks[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    ranks
}

/// A `fig6_table2` file with 40 + 40 pairs; `sign` = 1 makes the low-value group's
/// ln (21) the smaller (the paper's finding), -1 the larger. Scalars listed in
/// `as_len1` are written with shape [1] instead of 0-D.
fn fig6(sign: f64, as_len1: &[&str]) -> Fixture {
    let n = 40;
    let wobble = |i: usize, a: f64| a * (i as f64 * 2.3).sin();
    let low_change: Vec<f64> = (0..n).map(|i| -sign - 0.4 + wobble(i, 0.8)).collect();
    let high_change: Vec<f64> = (0..n).map(|i| sign - 0.4 + wobble(i, 0.8)).collect();
    let both: Vec<f64> = low_change.iter().chain(&high_change).copied().collect();
    let ranks = average_ranks(&both);
    let (r1, r2) = (
        ranks[..n].iter().sum::<f64>(),
        ranks[n..].iter().sum::<f64>(),
    );
    let nn = (n * n) as f64;
    let u1 = r1 - (n * (n + 1) / 2) as f64;
    let u2 = r2 - (n * (n + 1) / 2) as f64;
    let u = u1.min(u2);
    let z = (u - nn / 2.0) / (nn * (2 * n + 1) as f64 / 12.0).sqrt();
    let scalars = [
        ("rank/low_mean", r1 / n as f64),
        ("rank/high_mean", r2 / n as f64),
        ("mann_whitney/u", u),
        ("mann_whitney/u1", u1),
        ("mann_whitney/u2", u2),
        ("mann_whitney/z", z),
        ("mann_whitney/p_value", 3.2e-9),
        (
            "mann_whitney/p_low_smaller",
            if sign > 0.0 { 3.2e-9 } else { 0.999 },
        ),
        ("mann_whitney/r1", r1),
        ("mann_whitney/r2", r2),
        ("mann_whitney/n1", n as f64),
        ("mann_whitney/n2", n as f64),
        ("mann_whitney/tie_corrected", 1.0),
        ("groups/q", 5.0),
        ("groups/low_threshold", -3.0),
        ("groups/high_threshold", 3.0),
    ];
    let config = "seed = 7\n[data]\nsource = \"synthetic\"\nn_pairs = 800\n[analysis]\nq = 5.0\n[dpo]\nbeta = 0.1\n";
    let mut f = Fixture::new("fig6_table2", config)
        .vec("rank/low", ranks[..n].to_vec())
        .vec("rank/high", ranks[n..].to_vec())
        .vec(
            "ratio_change/low",
            low_change.iter().map(|v| v.exp()).collect(),
        )
        .vec(
            "ratio_change/high",
            high_change.iter().map(|v| v.exp()).collect(),
        )
        .vec("log_ratio_change/low", low_change)
        .vec("log_ratio_change/high", high_change)
        .vec("log_rho_ref/low", lin(n, -6.0, -3.2))
        .vec("log_rho_ref/high", lin(n, 3.1, 5.5))
        .vec("log_rho_ref/all", lin(800, -6.0, 5.5))
        .vec(
            "sft/loss",
            (0..60)
                .map(|t| 1.0 + 3.0 * (-(t as f64) / 15.0).exp())
                .collect(),
        )
        .vec(
            "dpo/loss",
            (0..30)
                .map(|t| 0.3 + 0.393 * (-(t as f64) / 8.0).exp())
                .collect(),
        );
    for (k, v) in scalars {
        f = if as_len1.contains(&k) {
            f.set(k, &[1], vec![v])
        } else {
            f.scalar(k, v)
        };
    }
    f.attrs
        .push(("mann_whitney".into(), "synthetic fixture".into()));
    f
}

const FIGURES: &[&str] = &[
    "fig1_distributions",
    "fig2_weight_decay",
    "fig3_early_stopping",
    "fig4_penalty_curves",
    "fig5_one_step",
    "table1_trajectories",
    "mode_seeking",
    "fig6_ranks",
    "fig6_ratio_change",
    "fig6_training",
    "fig6_hh_ranks",
    "fig6_hh_length",
    "fig6_controlled_ratio_change",
    "fig6_controlled_length",
];

/// Decodes a PNG and checks it is not a single colour.
fn check_png(path: &Path) {
    let file = std::fs::File::open(path).expect("png exists");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let bytes = &buf[..info.buffer_size()];
    assert!(info.width > 100 && info.height > 100, "{path:?} too small");
    let n = bytes.len() as f64;
    let mean = bytes.iter().map(|&b| b as f64).sum::<f64>() / n;
    let var = bytes
        .iter()
        .map(|&b| (b as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(
        var > 1.0,
        "{path:?} is (nearly) a single colour: variance {var}"
    );
    let distinct: std::collections::BTreeSet<&[u8]> =
        bytes.chunks(info.color_type.samples()).collect();
    assert!(
        distinct.len() > 10,
        "{path:?} has only {} colours",
        distinct.len()
    );
}

/// `src="..."` and `href="..."` targets in an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for key in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(key) {
            rest = &rest[i + key.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            refs.push(rest[..end].to_string());
        }
    }
    refs
}

#[test]
fn full_report_from_fixtures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = dir.path().join("results");
    let out = dir.path().join("out");
    std::fs::create_dir(&results).expect("mkdir");
    for (name, f) in fixtures() {
        f.write(&results.join(name));
    }
    std::fs::write(results.join("notes.txt"), "x").expect("write");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.missing.is_empty(), "{:?}", report.missing);
    assert_eq!(report.unused, vec!["notes.txt".to_string()]);
    assert_eq!(report.sections.len(), 11);
    for stem in FIGURES {
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).expect("svg exists");
        assert!(svg.trim_start().starts_with("<svg"), "{stem}.svg");
        assert!(svg.contains("</svg>"), "{stem}.svg");
        assert!(svg.contains("<text"), "{stem}.svg has no text");
        check_png(&out.join(format!("{stem}.png")));
    }
    for f in &report.files {
        assert!(f.exists(), "{f:?} listed but absent");
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("<svg"), "SVGs are inline");
    let refs = references(&html);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(out.join(&r).is_file(), "report.html references missing {r}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(md.contains("| ratio | paper | reproduced | difference | why |"));
    assert!(md.contains("(paper rounds)"), "{md}");
    assert!(
        md.contains("no interior stationary point below r_c"),
        "{md}"
    );
    assert!(
        md.contains("pi_star = [0.6, 0.3, 0.1]"),
        "caption quotes the config"
    );
}

#[test]
fn missing_dataset_is_a_problem_naming_file_and_dataset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = dir.path().join("results");
    let out = dir.path().join("out");
    std::fs::create_dir(&results).expect("mkdir");
    for (name, f) in fixtures() {
        let f = if name == "fig5_one_step.h5" {
            f.without("relative_decrease")
        } else {
            f
        };
        f.write(&results.join(name));
    }
    let report = build_report(&results, &out).expect("report");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    assert!(
        p.contains("fig5_one_step.h5") && p.contains("relative_decrease"),
        "{p}"
    );
    for stem in FIGURES.iter().filter(|s| **s != "fig5_one_step") {
        assert!(out.join(format!("{stem}.svg")).is_file(), "{stem}.svg");
        check_png(&out.join(format!("{stem}.png")));
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(
        html.contains("relative_decrease"),
        "problem shown in the report"
    );
    for r in references(&html) {
        assert!(out.join(&r).is_file(), "report.html references missing {r}");
    }
}

#[test]
fn missing_files_and_bad_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let report = build_report(dir.path(), &out).expect("empty folder is fine");
    assert_eq!(report.missing.len(), 10);
    assert!(out.join("report.html").is_file());
    assert!(build_report(&dir.path().join("nope"), &out).is_err());
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    assert!(build_report(dir.path(), &blocker.join("out")).is_err());
}

/// Builds a report from real results: `REPORTS_RESULTS_DIR=... cargo test -- --ignored`.
#[test]
#[ignore]
fn real_results() {
    let Some(dir) = std::env::var_os("REPORTS_RESULTS_DIR") else {
        return;
    };
    let out = std::env::var_os("REPORTS_OUT_DIR").unwrap_or_else(|| "/tmp/reports_out".into());
    let report = build_report(Path::new(&dir), Path::new(&out)).expect("report");
    println!("{report:#?}");
}

#[test]
fn fig6_table2_ranks_table_and_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let section = crate::figures::sections()
        .into_iter()
        .find(|s| s.file() == "fig6_table2")
        .expect("fig6_table2 registered");
    let render = |name: &str, f: Fixture| {
        let path = dir.path().join(name);
        f.write(&path);
        let file = crate::h5::Results::open(&path).expect("open");
        crate::register_fonts();
        section.render(&file, dir.path())
    };

    let r = render("fig6_table2.h5", fig6(1.0, &[])).expect("renders");
    assert_eq!(
        r.figures,
        ["fig6_ranks", "fig6_ratio_change", "fig6_training"]
    );
    for stem in &r.figures {
        check_png(&dir.path().join(format!("{stem}.png")));
        let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).expect("svg");
        assert!(svg.contains("<text"), "{stem}.svg has no text");
    }
    let svg = std::fs::read_to_string(dir.path().join("fig6_ranks.svg")).expect("svg");
    assert!(svg.contains("position within group (sorted)"));
    assert!(svg.contains("average rank of (21) over both groups"));
    let t = &r.tables[0];
    assert!(t.caption.starts_with("Table 2"));
    assert_eq!(t.header[0], "Statistic");
    let cell = |stat: &str, col: usize| {
        t.rows
            .iter()
            .find(|row| row[0].starts_with(stat))
            .unwrap_or_else(|| panic!("row {stat}"))[col]
            .clone()
    };
    assert_eq!(cell("n1 = n2", 1), "800");
    assert_eq!(cell("n1 = n2", 2), "40");
    assert_eq!(cell("U-statistic", 1), "225937.0");
    assert_eq!(cell("p-value", 1), "1.220e-24");
    assert_eq!(cell("p-value", 2), "3.200e-9");
    assert_eq!(cell("z =", 1), "-10.18");
    assert_eq!(cell("mean rank (low)", 1), "682.92");
    assert_eq!(cell("mean rank (high)", 1), "918.08");
    assert_eq!(cell("U1, U2", 1), "225937.0, 414063.0");
    assert_eq!(cell("p-value (one-sided, low", 2), "3.200e-9");
    assert!(
        r.notes[0].starts_with("The low-value group has the smaller mean rank ("),
        "{:?}",
        r.notes
    );
    assert!(
        r.notes[0].ends_with("one-sided p = 3.200e-9."),
        "{}",
        r.notes[0]
    );
    assert!(r.notes[1].contains("mean ln (21)"), "{}", r.notes[1]);
    assert!(
        r.notes
            .iter()
            .any(|n| n == "mann_whitney: synthetic fixture")
    );
    assert!(r.caption.contains("fig6_table2.h5") && r.caption.contains("dpo.beta = 0.1"));

    let len1 = [
        "rank/low_mean",
        "rank/high_mean",
        "mann_whitney/p_value",
        "groups/q",
    ];
    let r = render("reversed.h5", fig6(-1.0, &len1)).expect("shape-[1] scalars render");
    assert!(r.notes[0].starts_with("Our run does NOT show the paper's finding"));
    assert!(
        r.notes[0].ends_with("(one-sided p for the paper's direction = 9.990e-1)."),
        "{}",
        r.notes[0]
    );
    let r = render(
        "reversed.h5",
        fig6(-1.0, &[]).without("mann_whitney/p_low_smaller"),
    )
    .expect("p_low_smaller is optional");
    assert!(
        r.notes[0].ends_with("(one-sided p = 3.200e-9, in the opposite direction)."),
        "{}",
        r.notes[0]
    );

    let e = render(
        "fig6_table2.h5",
        fig6(1.0, &[]).without("mann_whitney/p_value"),
    )
    .expect_err("missing dataset");
    assert!(
        e.contains("fig6_table2.h5") && e.contains("mann_whitney/p_value"),
        "{e}"
    );
    let e = render(
        "fig6_table2.h5",
        fig6(1.0, &[]).without("log_ratio_change/high"),
    )
    .expect_err("missing dataset");
    assert!(e.contains("log_ratio_change/high"), "{e}");
}

#[test]
fn fig6_sections_per_file_show_lengths_and_group_comparability() {
    let dir = tempfile::tempdir().expect("tempdir");
    let section = crate::figures::sections()
        .into_iter()
        .find(|s| s.file() == "fig6_table2_controlled")
        .expect("fig6_table2_controlled registered");
    let path = dir.path().join("fig6_table2_controlled.h5");
    with_lengths(fig6(1.0, &[]), true).write(&path);
    let file = crate::h5::Results::open(&path).expect("open");
    crate::register_fonts();
    let r = section.render(&file, dir.path()).expect("renders");
    assert_eq!(
        r.figures,
        [
            "fig6_controlled_ranks",
            "fig6_controlled_ratio_change",
            "fig6_controlled_training",
            "fig6_controlled_length"
        ]
    );
    let svg = std::fs::read_to_string(dir.path().join("fig6_controlled_length.svg")).expect("svg");
    assert!(svg.contains("len(y_w) − len(y_l) (tokens)"));
    let t = &r.tables[1];
    let row = |name: &str| {
        t.rows
            .iter()
            .find(|row| row[0].starts_with(name))
            .unwrap_or_else(|| panic!("row {name}"))
            .clone()
    };
    assert_eq!(row("mean len(y_w)")[1..], ["4.00, 6.00", "6.50, 3.00"]);
    assert_eq!(row("r(ln ρ_ref")[1..], ["0.200", "undefined (constant)"]);
    assert_eq!(row("label noise")[1..], ["25.0 %", "22.5 %"]);
    assert_eq!(row("mean scored len")[1..], ["5.00, 6.00", "6.50, 4.00"]);
    assert_eq!(row("r(ln ρ_ref, scored")[1..], ["0.250", "-0.500"]);
    assert_eq!(row("mean true reward margin")[1..], ["0.5", "0.5"]);
    assert!(t.caption.contains("r(ln ρ_ref, length difference) = 0.830"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("3 chosen and 5 rejected of 800 pairs")),
        "{:?}",
        r.notes
    );
    // Without the length datasets (files of earlier versions), no length figure or table.
    let old = dir.path().join("old.h5");
    fig6(1.0, &[]).write(&old);
    let file = crate::h5::Results::open(&old).expect("open");
    let r = section.render(&file, dir.path()).expect("renders");
    assert_eq!(r.figures.len(), 3);
    assert_eq!(r.tables.len(), 1);
}

#[test]
fn unreadable_h5_files_are_named_as_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = dir.path().join("results");
    std::fs::create_dir(&results).expect("mkdir");
    std::fs::write(results.join("empty.h5"), b"").expect("write");
    std::fs::write(results.join("text.h5"), b"not hdf5").expect("write");
    let (name, fixture) = fixtures().remove(0);
    fixture.write(&results.join(name));
    let report = build_report(&results, &dir.path().join("out")).expect("report");
    for bad in ["empty.h5", "text.h5"] {
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.starts_with(&format!("{bad}: cannot open"))
                    && p.ends_with("(not a usable results file)")),
            "{bad} not named: {:?}",
            report.problems
        );
    }
    assert!(!report.sections.is_empty());
    assert_eq!(report.readable, vec![name.to_string()]);
}
