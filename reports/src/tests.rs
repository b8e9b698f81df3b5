//! Tests: tiny synthetic results files written with the `hdf5` crate.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5::types::VarLenUnicode;

use crate::build_report;
use crate::figures::Section;

/// One fixture file: datasets by path with shape, 1-D string datasets, and root string
/// attributes.
#[derive(Default)]
struct Fixture {
    datasets: BTreeMap<String, (Vec<usize>, Vec<f64>)>,
    texts: BTreeMap<String, Vec<String>>,
    attrs: Vec<(String, String)>,
}

impl Fixture {
    fn new(experiment: &str, kind: &str, config: &str) -> Self {
        let mut f = Self::default();
        for (k, v) in [
            ("experiment", experiment),
            ("kind", kind),
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

    /// Sets root attribute `k` (replacing it if present).
    fn attr(mut self, k: &str, v: &str) -> Self {
        self.attrs.retain(|(name, _)| name != k);
        self.attrs.push((k.into(), v.into()));
        self
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

    /// A 1-D dataset of variable-length UTF-8 strings.
    fn texts(mut self, path: &str, values: Vec<String>) -> Self {
        self.texts.insert(path.into(), values);
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
        let place = |p: &'_ str| -> (hdf5::Group, String) {
            match p.rsplit_once('/') {
                Some((g, n)) => (
                    file.group(g)
                        .or_else(|_| file.create_group(g))
                        .expect("group"),
                    n.to_owned(),
                ),
                None => (file.group("/").expect("root"), p.to_owned()),
            }
        };
        for (p, values) in &self.texts {
            let (group, name) = place(p);
            let values: Vec<VarLenUnicode> =
                values.iter().map(|v| v.parse().expect("unicode")).collect();
            group
                .new_dataset::<VarLenUnicode>()
                .shape([values.len()])
                .create(name.as_str())
                .expect("dataset")
                .write_raw(&values)
                .expect("write");
        }
        for (p, (shape, values)) in &self.datasets {
            let (group, name) = place(p);
            let name = name.as_str();
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

const BANDIT: &str = "distance = \"l2\"\n[bandit]\npi_star = [0.6, 0.3, 0.1]\npi_ref = [0.4, 0.4, 0.2]\nbeta = 1.0\n[policy]\nname = \"softmax\"\n[data]\npairs = \"uniform\"\n[optimizer]\nname = \"adam\"\nlr = 0.01\nepochs = 4\n[[methods]]\nloss = \"dpo\"\n[[methods]]\nloss = \"ipo\"\n";

/// The weight-decay sweep of Figure 2, in the paper's setting.
fn sweep_config() -> String {
    format!("{BANDIT}[constraints.weight_decay]\nalpha = [0.0, 0.01, 0.1, 1.0]\n")
}

/// Table 1's setting with `ratios`.
fn table1_config(ratios: &str) -> String {
    format!(
        "beta = 0.5\nratios = {ratios}\n[optimizer]\nname = \"gd\"\nlr = 0.01\nepochs = 3\n[constraints.weight_decay]\nalpha = 1.0\n[constraints.interval]\nlo = 0.0\nhi = 1.0\n"
    )
}

/// The mode-seeking experiment in the paper's setting, as `experiments/mode_seeking.toml`.
const MODE: &str = "[bandit]\npi_star = [0.5, 0.0, 0.5]\npi_ref = [0.3333333333333333, 0.3333333333333333, 0.3333333333333334]\nbeta = 1.0\n[policy]\nname = \"convex_mixture\"\ncomponents = [[0.3333333333333333, 0.3333333333333333, 0.3333333333333334], [1.0, 0.0, 0.0]]\ninit = 0.5\n[data]\npairs = \"uniform\"\nmode = \"expected\"\nn_pairs = 300\nseed = 3\nbatch_size = 300\n[optimizer]\nname = \"adam\"\nlr = 0.01\nepochs = 5\n[constraints.interval]\nlo = 0.0\nhi = 1.0\n";

fn lin(n: usize, a: f64, b: f64) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// A weight-decay sweep over four alphas; `scale` scales its distances.
fn sweep(config: &str, scale: f64) -> Fixture {
    let a = 4;
    let mut f = Fixture::new("fig2_weight_decay", "weight_decay_sweep", config)
        .vec("alpha", vec![0.0, 0.01, 0.1, 1.0]);
    for (m, s) in [("dpo", scale), ("ipo", 2.0 * scale)] {
        f = f
            .vec(&format!("{m}/distance"), lin(a, 0.0, 0.3 * s))
            .vec(&format!("{m}/distance_l2"), lin(a, 0.0, 0.3 * s))
            .set(&format!("{m}/policy"), &[a, 3], [0.6, 0.3, 0.1].repeat(a))
            .set(
                &format!("{m}/rlhf_policy"),
                &[a, 3],
                [0.5, 0.3, 0.2].repeat(a),
            );
    }
    f
}

/// The mode-seeking file with configuration `config`.
fn mode_seeking(config: &str) -> Fixture {
    Fixture::new("mode_seeking", "mode_seeking", config)
        .scalar("theta_dpo", 0.4)
        .scalar("theta_rlhf", 1.0)
        .vec("trajectory/dpo", lin(6, 0.5, 0.4))
        .vec("trajectory/rlhf", lin(6, 0.5, 1.0))
}

/// A thresholding file over ratios [0.1, 1, 5] with configuration `config`.
fn thresholding(config: &str) -> Fixture {
    Fixture::new("table1_thresholding", "thresholding", config)
        .vec("ratio", vec![0.1, 1.0, 5.0])
        .vec("theta", vec![1.0, 0.5, 0.38303])
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
        )
}

const SYNTHETIC: &str = "seed = 7\n[data]\nsource = \"synthetic\"\nn_pairs = 800\nequal_lengths = false\necho_bonus = 1.0\n[analysis]\nq = 5.0\n[dpo]\nbeta = 0.1\n";
const CONTROLLED: &str =
    "[data]\nsource = \"synthetic\"\nequal_lengths = true\necho_bonus = 0.0\n[dpo]\nbeta = 0.1\n";
const JSONL: &str = "[data]\nsource = \"jsonl\"\npath = \"data/hh-rlhf/harmless-base-test.jsonl.gz\"\n[dpo]\nbeta = 0.1\n";

/// One file of every kind, under the paper's file names, each in the paper's setting.
fn fixtures() -> Vec<(&'static str, Fixture)> {
    let mut fig3 = Fixture::new(
        "fig3_early_stopping",
        "early_stopping",
        &format!("{BANDIT}[constraints.weight_decay]\nalpha = 0.0\n"),
    )
    .vec("epoch", lin(5, 0.0, 4.0));
    for (m, s) in [("dpo", 1.0), ("ipo", 2.0)] {
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
    let fig5 = Fixture::new(
        "fig5_one_step",
        "one_step",
        "beta = 0.5\n[optimizer]\nname = \"gd\"\nlr = 0.01\n",
    )
    .vec("ratio", vec![0.01, 0.1, 1.0, 10.0])
    .vec("absolute_decrease", vec![0.001, 0.01, 0.02, 0.01])
    .vec("relative_decrease", vec![0.002, 0.02, 0.03, 0.015]);
    let u = lin(9, -2.0, 2.0);
    let fig4 = Fixture::new(
        "fig4_penalty_curves",
        "penalty_curves",
        "gamma = [0.1, 1.0]\n",
    )
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
    let prop = Fixture::new(
        "prop32_ratio_constraint",
        "ratio_constraint",
        "epsilon = 0.1\n",
    )
    .scalar("rlhf/ratio_13", 1.179)
    .scalar("ipo/ratio_13", 1.1786)
    .scalar("closed_form/rlhf_ratio_13", 1.17910)
    .scalar("closed_form/ipo_ratio_13", 1.17865)
    .scalar("closed_form/eq49_as_printed", 1.855)
    .scalar("min_ratio", 0.98)
    .vec("rlhf/policy", vec![0.35, 0.35, 0.3])
    .vec("ipo/policy", vec![0.35, 0.35, 0.3])
    .vec("closed_form/rlhf_policy", vec![0.351, 0.349, 0.3])
    .vec("closed_form/ipo_policy", vec![0.352, 0.348, 0.3])
    .vec("unconstrained_optimum", vec![0.37, 0.33, 0.3]);
    vec![
        ("fig2_weight_decay.h5", sweep(&sweep_config(), 1.0)),
        ("fig3_early_stopping.h5", fig3),
        ("mode_seeking.h5", mode_seeking(MODE)),
        (
            "table1_thresholding.h5",
            thresholding(&table1_config("[0.1, 1.0, 5.0]")),
        ),
        ("fig5_one_step.h5", fig5),
        ("fig4_penalty_curves.h5", fig4),
        ("prop32_ratio_constraint.h5", prop),
        ("fig6_table2.h5", fig6(1.0, &[])),
        (
            "fig6_table2_hh.h5",
            with_lengths(fig6(-1.0, &[]), false).attr("config_toml", JSONL),
        ),
        (
            "fig6_table2_controlled.h5",
            with_lengths(fig6(1.0, &[]), true).attr("config_toml", CONTROLLED),
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
    let mut f = Fixture::new("fig6_table2", "sequence_dpo", SYNTHETIC)
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

/// The figure stems of [`fixtures`].
const FIGURES: &[&str] = &[
    "fig2_weight_decay_distributions",
    "fig2_weight_decay",
    "fig3_early_stopping",
    "fig4_penalty_curves",
    "fig5_one_step",
    "table1_thresholding_trajectories",
    "mode_seeking",
    "fig6_table2_ranks",
    "fig6_table2_ratio_change",
    "fig6_table2_training",
    "fig6_table2_hh_ranks",
    "fig6_table2_hh_length",
    "fig6_table2_controlled_ratio_change",
    "fig6_table2_controlled_length",
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

/// A results folder in a temporary directory, with `files` written into it.
fn folder<N: AsRef<Path>>(files: Vec<(N, Fixture)>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = dir.path().join("results");
    std::fs::create_dir(&results).expect("mkdir");
    for (name, f) in files {
        f.write(&results.join(name));
    }
    (dir, results)
}

/// Checks `<out>/<stem>.svg` is an SVG with text and `<out>/<stem>.png` a non-blank image.
fn check_figure(out: &Path, stem: &str) {
    let svg = std::fs::read_to_string(out.join(format!("{stem}.svg")))
        .unwrap_or_else(|e| panic!("{stem}.svg: {e}"));
    assert!(svg.trim_start().starts_with("<svg"), "{stem}.svg");
    assert!(svg.contains("</svg>"), "{stem}.svg");
    assert!(svg.contains("<text"), "{stem}.svg has no text");
    check_png(&out.join(format!("{stem}.png")));
}

/// Checks every file the report lists exists and every link of report.html resolves.
fn check_links(report: &crate::Report) {
    for f in &report.files {
        assert!(f.exists(), "{f:?} listed but absent");
    }
    let html = std::fs::read_to_string(report.out_dir.join("report.html")).expect("html");
    let refs = references(&html);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(
            report.out_dir.join(&r).is_file(),
            "report.html references missing {r}"
        );
    }
}

/// The figure stems of a rendered section, in order.
fn stems(r: &crate::figures::Rendered) -> Vec<&str> {
    r.figures.iter().map(|f| f.stem.as_str()).collect()
}

/// Checks each section of report.html and report.md states its configuration once, however
/// many figures it draws, and that the sections of `multi` (a file stem) draw several.
fn check_configuration_once(html: &str, md: &str, multi: &str) {
    let html_sections = html
        .split("<section>\n")
        .skip(1)
        .map(|s| s.split("</section>").next().unwrap_or_default());
    let md_sections = md.split("\n## ").skip(1);
    let mut multi_seen = 0;
    for (format, section) in html_sections
        .map(|s| ("report.html", s))
        .chain(md_sections.map(|s| ("report.md", s)))
    {
        let quoted = section.matches("Configuration: ").count();
        assert!(
            quoted <= 1,
            "{format}: configuration stated {quoted} times in {section}"
        );
        if section.contains(&format!("{multi}_length.svg")) {
            assert_eq!(quoted, 1, "{format}: {section}");
            assert!(section.matches(".svg").count() >= 4, "{format}: {section}");
            multi_seen += 1;
        }
    }
    assert_eq!(
        multi_seen, 2,
        "a section of `{multi}` in both report.html and report.md"
    );
}

#[test]
fn full_report_from_fixtures() {
    let (dir, results) = folder(fixtures());
    let out = dir.path().join("out");
    std::fs::write(results.join("notes.txt"), "x").expect("write");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.missing.is_empty(), "{:?}", report.missing);
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(report.readable.len(), 10);
    let order: Vec<(&str, &str)> = report
        .sections
        .iter()
        .map(|t| {
            let head = t.split(':').next().unwrap_or_default();
            let file = t
                .rsplit('(')
                .next()
                .unwrap_or_default()
                .trim_end_matches(')');
            (head, file)
        })
        .collect();
    assert_eq!(
        order,
        [
            ("Figure 1", "fig2_weight_decay.h5"),
            ("Figure 2", "fig2_weight_decay.h5"),
            ("Figure 3", "fig3_early_stopping.h5"),
            ("Figure 4", "fig4_penalty_curves.h5"),
            ("Figure 5", "fig5_one_step.h5"),
            ("Table 1", "table1_thresholding.h5"),
            ("Mode seeking", "mode_seeking.h5"),
            ("Proposition 3.2", "prop32_ratio_constraint.h5"),
            ("Figure 6 and Table 2", "fig6_table2.h5"),
            ("Figure 6 and Table 2", "fig6_table2_controlled.h5"),
            ("Figure 6 and Table 2", "fig6_table2_hh.h5"),
        ]
    );
    assert!(report.sections[8].contains("on synthetic data (Section 5.3)"));
    assert!(report.sections[9].contains("without the length confound"));
    assert!(
        report.sections[10].contains(
            "on real preference data (JSONL file data/hh-rlhf/harmless-base-test.jsonl.gz)"
        )
    );
    for stem in FIGURES {
        check_figure(&out, stem);
    }
    check_links(&report);
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("<svg"), "SVGs are inline");
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
    assert!(md.contains("The configuration is the paper's setting for Figure 2 (bandit.pi_star"));
    assert!(!md.contains("notes.txt"), "non-.h5 files are not listed");
    check_configuration_once(&html, &md, "fig6_table2_hh");
}

#[test]
fn missing_dataset_is_a_problem_naming_file_and_dataset() {
    let files = fixtures()
        .into_iter()
        .map(|(name, f)| {
            if name == "fig5_one_step.h5" {
                (name, f.without("relative_decrease"))
            } else {
                (name, f)
            }
        })
        .collect();
    let (dir, results) = folder(files);
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    assert!(
        p.starts_with("Figure 5: one-step decrease of the DPO loss vs reference ratio (fig5_one_step.h5) not produced")
            && p.contains("fig5_one_step.h5: missing dataset `relative_decrease`"),
        "{p}"
    );
    for stem in FIGURES.iter().filter(|s| **s != "fig5_one_step") {
        check_figure(&out, stem);
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(
        html.contains("relative_decrease"),
        "problem shown in the report"
    );
    check_links(&report);
}

#[test]
fn missing_files_and_bad_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let report = build_report(dir.path(), &out).expect("empty folder is fine");
    let every: Vec<String> = crate::paper::ITEMS.iter().map(|i| i.label()).collect();
    assert_eq!(report.missing, every);
    assert!(
        report
            .missing
            .contains(&"Table 1 (kind thresholding)".to_string())
    );
    assert!(out.join("report.html").is_file());
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(md.contains("- Mode seeking (kind mode_seeking)"), "{md}");
    assert!(build_report(&dir.path().join("nope"), &out).is_err());
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    assert!(build_report(dir.path(), &blocker.join("out")).is_err());
}

#[test]
fn every_kind_under_another_name_gets_its_sections() {
    let files: Vec<(String, Fixture)> = fixtures()
        .into_iter()
        .enumerate()
        .map(|(i, (_, f))| (format!("run {i}.h5"), f))
        .collect();
    let (dir, results) = folder(files);
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.missing.is_empty(), "{:?}", report.missing);
    assert_eq!(report.sections.len(), 11, "{:#?}", report.sections);
    assert!(
        report
            .sections
            .iter()
            .all(|t| t.contains("(run ") && t.ends_with(".h5)")),
        "{:#?}",
        report.sections
    );
    let pngs: Vec<&std::path::PathBuf> = report
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .collect();
    // 2 of the sweep, 1 each of Figures 3, 4, 5, Table 1, mode seeking and Prop. 3.2,
    // 3 + 4 + 4 of the sequence files (the synthetic one has no length datasets).
    assert_eq!(pngs.len(), 2 + 6 + 3 + 4 + 4, "{pngs:#?}");
    for png in pngs {
        let stem = png.file_stem().and_then(|s| s.to_str()).expect("stem");
        assert!(stem.starts_with("run_"), "stem from the file name: {stem}");
        check_figure(&out, stem);
    }
    // `run 0.h5` is the weight-decay sweep: both its figures, named after it.
    assert!(out.join("run_0.png").is_file());
    assert!(out.join("run_0_distributions.png").is_file());
    assert!(out.join("run_7_ranks.png").is_file());
    check_links(&report);
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(md.contains("![Figure 1: DPO and RLHF policies, unconstrained and constrained (run 0.h5)](run_0_distributions.png)"), "{md}");
}

#[test]
fn two_sweeps_get_their_own_sections_and_figures() {
    let other = sweep_config().replace("beta = 1.0", "beta = 0.5");
    let (dir, results) = folder(vec![
        ("fig2_weight_decay.h5", sweep(&sweep_config(), 1.0)),
        ("a_sweep.h5", sweep(&other, 3.0)),
    ]);
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // The file in the paper's setting first, although `a_sweep.h5` sorts first by name.
    assert_eq!(
        report.sections,
        [
            "Figure 1: DPO and RLHF policies, unconstrained and constrained (fig2_weight_decay.h5)",
            "Figure 2: distance to the RLHF counterpart vs weight decay (fig2_weight_decay.h5)",
            "Figure 1: DPO and RLHF policies, unconstrained and constrained (a_sweep.h5)",
            "Figure 2: distance to the RLHF counterpart vs weight decay (a_sweep.h5)",
        ]
    );
    for stem in [
        "fig2_weight_decay",
        "fig2_weight_decay_distributions",
        "a_sweep",
        "a_sweep_distributions",
    ] {
        check_figure(&out, stem);
    }
    let read = |stem: &str| std::fs::read_to_string(out.join(format!("{stem}.svg"))).expect("svg");
    assert_ne!(
        read("fig2_weight_decay"),
        read("a_sweep"),
        "distinct curves"
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    // a_sweep's ipo distance reaches 2 x 0.3 x 3 = 1.8; the paper-setting sweep's only 0.6.
    assert!(md.contains("| 1 | 0.9 | 1.8 |"), "{md}");
    assert!(md.contains("| 1 | 0.3 | 0.6 |"), "{md}");
    assert!(
        md.contains("Not the paper's setting for Figure 2: bandit.beta = 0.5 (paper: 1)."),
        "{md}"
    );
    check_links(&report);

    // Only a sweep outside the paper's setting: Figure 2 is missing, Figure 1 is not.
    let (dir, results) = folder(vec![("a_sweep.h5", sweep(&other, 3.0))]);
    let report = build_report(&results, &dir.path().join("out")).expect("report");
    assert!(
        report
            .missing
            .contains(&"Figure 2 (kind weight_decay_sweep)".to_string())
    );
    assert!(
        !report
            .missing
            .contains(&"Figure 1 (kind weight_decay_sweep)".to_string())
    );
}

#[test]
fn figure_stems_never_collide() {
    let five = fixtures().remove(4).1;
    assert_eq!(five.attrs[1].1, "one_step");
    // `a.h5` draws `a_distributions`; `a_distributions.h5` draws its main figure as that
    // stem too, so one of them must get another.
    let (dir, results) = folder(vec![
        ("a.h5", sweep(&sweep_config(), 1.0)),
        ("a_distributions.h5", five),
    ]);
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let pngs: std::collections::BTreeSet<&std::path::PathBuf> = report
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .collect();
    assert_eq!(pngs.len(), 3, "{pngs:?}");
    assert!(out.join("a_distributions_2.png").is_file());
    let svg = std::fs::read_to_string(out.join("a_distributions_2.svg")).expect("svg");
    assert!(
        svg.contains("relative decrease"),
        "Figure 5 kept its own file"
    );
    check_links(&report);
}

/// Renders the section of `kind` (the first one) for `fixture` written as `name`.
fn render(kind: &str, name: &str, fixture: Fixture) -> crate::figures::Rendered {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    fixture.write(&path);
    let file = crate::h5::ResultsFile::open(&path).expect("open");
    let cfg = crate::config::Config::of(&file);
    crate::register_fonts();
    let section = crate::figures::sections_for(Some(kind)).remove(0);
    section
        .render(&file, &cfg, &mut crate::figures::FigureDir::new(dir.path()))
        .expect("renders")
}

/// Column `col` of the row of `table` whose first cell starts with `first`.
fn cell(table: &crate::figures::Table, first: &str, col: &str) -> String {
    let c = table
        .header
        .iter()
        .position(|h| h == col)
        .unwrap_or_else(|| panic!("no column {col} in {:?}", table.header));
    table
        .rows
        .iter()
        .find(|r| r[0].starts_with(first))
        .unwrap_or_else(|| panic!("no row {first}"))[c]
        .clone()
}

#[test]
fn mode_seeking_reference_only_in_the_papers_setting() {
    let r = render("mode_seeking", "mine.h5", mode_seeking(MODE));
    let t = &r.tables[0];
    assert_eq!(t.header[1], "paper");
    assert_eq!(t.rows.len(), 2);
    assert_eq!(cell(t, "θ_RLHF", "paper"), "1.00");
    assert_eq!(cell(t, "θ_DPO (expected", "paper"), "0.44");
    assert_eq!(cell(t, "θ_DPO (expected", "difference"), "-0.040");
    assert!(
        r.caption
            .contains("The configuration is the paper's setting for Mode seeking")
    );
    assert!(
        r.caption.contains("Expected mode (data.mode = expected)"),
        "{}",
        r.caption
    );

    // Sampled mode: one draw, named by its pairs and seed; the mode defaults to expected.
    let sampled = MODE.replace("mode = \"expected\"", "mode = \"sampled\"");
    let r = render(
        "mode_seeking",
        "one_sample.h5",
        mode_seeking(&sampled).scalar("theta_dpo", 0.43),
    );
    let t = &r.tables[0];
    assert_eq!(
        cell(
            t,
            "θ_DPO (one sampled data set: 300 pairs, seed 3)",
            "reproduced"
        ),
        "0.430"
    );
    assert_eq!(cell(t, "θ_DPO (one sampled", "difference"), "-0.010");
    assert!(
        r.caption.contains("Sampled mode (data.mode = sampled)"),
        "{}",
        r.caption
    );
    let r = render(
        "mode_seeking",
        "default.h5",
        mode_seeking(&MODE.replace("mode = \"expected\"\n", "")),
    );
    assert!(r.caption.contains("Expected mode"), "{}", r.caption);

    for (changed, why) in [
        (
            MODE.replace("beta = 1.0", "beta = 0.5"),
            "bandit.beta = 0.5 (paper: 1)",
        ),
        (
            MODE.replace("init = 0.5", "init = 0.9"),
            "policy.init = 0.9 (paper: 0.5)",
        ),
        (
            MODE.replace("pi_star = [0.5, 0.0, 0.5]", "pi_star = [0.4, 0.2, 0.4]"),
            "bandit.pi_star = [0.4, 0.2, 0.4] (paper: [0.5, 0, 0.5])",
        ),
    ] {
        let r = render("mode_seeking", "mine.h5", mode_seeking(&changed));
        let t = &r.tables[0];
        assert_eq!(t.header, ["quantity", "reproduced"], "{why}");
        assert!(!t.caption.contains("paper against"), "{}", t.caption);
        assert_eq!(cell(t, "θ_DPO (expected", "reproduced"), "0.400");
        assert!(
            r.caption
                .contains(&format!("Not the paper's setting for Mode seeking: {why}.")),
            "{}",
            r.caption
        );
        assert!(!r.caption.contains("0.44"), "{}", r.caption);
    }
}

#[test]
fn table1_reference_looked_up_by_ratio() {
    let f = thresholding(&table1_config("[0.05, 0.2, 10.0]"))
        .vec("ratio", vec![0.05, 0.2, 10.0])
        .vec("theta", vec![1.0, 0.6, 0.3401]);
    let r = render("thresholding", "wide.h5", f);
    let t = &r.tables[0];
    assert_eq!(
        t.header,
        ["ratio", "paper", "reproduced", "difference", "why"]
    );
    assert_eq!(cell(t, "0.05", "paper"), "1.00");
    assert_eq!(cell(t, "0.05", "difference"), "+0.0000");
    assert_eq!(cell(t, "0.2", "paper"), "—");
    assert_eq!(cell(t, "0.2", "difference"), "—");
    assert_eq!(cell(t, "10", "paper"), "0.34");
    assert_eq!(cell(t, "10", "difference"), "+0.0001");
    assert!(t.caption.contains("looked up by ratio"), "{}", t.caption);

    // Weight decay 0.5 is not Table 1's setting: no paper column, the caption says why.
    let f = thresholding(&table1_config("[0.1, 1.0, 5.0]").replace("alpha = 1.0", "alpha = 0.5"));
    let r = render("thresholding", "weak.h5", f);
    let t = &r.tables[0];
    assert_eq!(t.header, ["ratio", "reproduced", "why"]);
    assert_eq!(cell(t, "1", "reproduced"), "0.5000");
    assert_eq!(cell(t, "1", "why"), "stationary point θ = 0.500");
    assert!(
        t.caption.contains("Not the paper's setting"),
        "{}",
        t.caption
    );
    assert!(
        r.caption.contains(
            "Not the paper's setting for Table 1: constraints.weight_decay.alpha = 0.5 (paper: 1)."
        ),
        "{}",
        r.caption
    );

    // Every paper ratio maps to its θ; others to none.
    assert_eq!(crate::paper::table_1_theta(0.1), Some(0.77));
    assert_eq!(crate::paper::table_1_theta(0.5), Some(0.56));
    assert_eq!(crate::paper::table_1_theta(5.0), Some(0.39));
    assert_eq!(crate::paper::table_1_theta(2.0), None);
}

#[test]
fn the_shipped_experiments_are_in_the_papers_setting() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let shipped: Vec<crate::config::Config> = std::fs::read_dir(&dir)
        .expect("experiments folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            crate::config::Config::parse(&text, &path.display().to_string())
        })
        .collect();
    let keyed: Vec<&str> = crate::paper::ITEMS
        .iter()
        .filter(|i| i.keys().count() > 0)
        .map(|i| i.name)
        .collect();
    assert_eq!(
        keyed,
        [
            "Figure 2",
            "Figure 3",
            "Figure 5",
            "Table 1",
            "Mode seeking"
        ]
    );
    for item in crate::paper::ITEMS.iter() {
        let reproduced = shipped.iter().any(|cfg| {
            let kind = cfg.get("kind").and_then(|k| k.as_str());
            item.reproduced_by(kind, cfg)
        });
        assert!(
            reproduced,
            "no shipped experiment reproduces {}",
            item.label()
        );
    }
}

#[test]
fn unknown_kinds_get_the_generic_section() {
    let mut f = Fixture::new(
        "my_plugin_run",
        "my_plugin",
        "name = \"my_plugin_run\"\nkind = \"my_plugin\"\nsteps = 5\n",
    )
    .attr("note", &"x".repeat(500))
    .vec("loss", lin(5, 1.0, 0.2))
    .scalar("final", 0.2)
    .vec("metrics/accuracy", lin(5, 0.1, 0.9))
    .set("metrics/confusion", &[2, 2], vec![1.0, 2.0, 3.0, 4.0])
    .set("cube", &[2, 2, 2], lin(8, 0.0, 7.0));
    for i in 0..12 {
        f = f.vec(&format!("many/s{i:02}"), lin(3, 0.0, i as f64));
    }
    let (dir, results) = folder(vec![
        ("plugin.h5", f),
        ("bare.h5", Fixture::default().vec("x", vec![1.0, 2.0, 4.0])),
    ]);
    // Datasets the fixture writer cannot make: strings and integers.
    {
        let file = hdf5::File::open_rw(results.join("plugin.h5")).expect("open");
        let words: Vec<VarLenUnicode> = ["a", "b"].iter().map(|w| w.parse().expect("u")).collect();
        file.new_dataset::<VarLenUnicode>()
            .shape([2])
            .create("labels")
            .expect("dataset")
            .write_raw(&words)
            .expect("write");
        file.new_dataset::<i32>()
            .shape([4])
            .create("metrics/count")
            .expect("dataset")
            .write_raw(&[1, 3, 2, 5])
            .expect("write");
    }
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(
        report.sections,
        [
            "bare.h5 (no kind attribute)",
            "plugin.h5 (kind my_plugin, no dedicated section)",
        ]
    );
    for stem in ["plugin_root", "plugin_metrics", "plugin_many", "bare_root"] {
        check_figure(&out, stem);
    }
    let svg = std::fs::read_to_string(out.join("plugin_metrics.svg")).expect("svg");
    assert!(
        svg.contains("accuracy") && svg.contains("count"),
        "both 1-D datasets drawn"
    );
    assert!(
        !svg.contains("confusion"),
        "2-D datasets are listed, not drawn"
    );
    check_links(&report);

    let path = results.join("plugin.h5");
    let file = crate::h5::ResultsFile::open(&path).expect("open");
    let cfg = crate::config::Config::of(&file);
    let r = crate::figures::generic::Generic
        .render(&file, &cfg, &mut crate::figures::FigureDir::new(dir.path()))
        .expect("renders");
    let attrs = &r.tables[0];
    assert_eq!(cell(attrs, "kind", "value"), "my_plugin");
    assert_eq!(
        cell(attrs, "config_toml", "value"),
        "TOML, 3 lines (shown below)"
    );
    assert!(cell(attrs, "note", "value").ends_with("… (500 characters)"));
    let ds = &r.tables[1];
    let row = |p: &str| {
        ds.rows
            .iter()
            .find(|r| r[0] == p)
            .unwrap_or_else(|| panic!("{p} not listed"))
            .clone()
    };
    assert_eq!(row("cube")[1..3], ["[2, 2, 2]", "float64"]);
    assert_eq!(row("cube")[3], "0 … 7");
    assert_eq!(row("final")[1..], ["[]", "float64", "0.2"]);
    assert_eq!(row("labels")[1], "[2]");
    assert!(row("labels")[2].contains("var len"), "{:?}", row("labels"));
    assert_eq!(row("labels")[3], "—");
    assert_eq!(row("metrics/count")[1..], ["[4]", "int32", "1 … 5"]);
    assert_eq!(row("metrics/confusion")[1], "[2, 2]");
    assert_eq!(ds.rows.len(), 7 + 12);
    assert_eq!(r.blocks.len(), 1);
    assert!(r.blocks[0].text.contains("steps = 5"));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("Group `many`: 10 of its 12 1-D datasets are drawn")),
        "{:?}",
        r.notes
    );
    assert!(
        r.caption.contains("`plugin.h5` has kind `my_plugin`"),
        "{}",
        r.caption
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(
        md.contains("```\nname = \"my_plugin_run\"\nkind = \"my_plugin\"\nsteps = 5\n```"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(
        html.contains("<pre>name = &quot;my_plugin_run&quot;"),
        "config shown as a block"
    );
}

/// Builds a report from real results: `REPORTS_RESULTS_DIR=... cargo test -- --ignored`.
#[test]
#[ignore = "needs a folder of real results in REPORTS_RESULTS_DIR"]
fn real_results() {
    let dir = std::env::var_os("REPORTS_RESULTS_DIR")
        .expect("REPORTS_RESULTS_DIR names a folder of results files");
    let out = std::env::var_os("REPORTS_OUT_DIR").unwrap_or_else(|| "/tmp/reports_out".into());
    let report = build_report(Path::new(&dir), Path::new(&out)).expect("report");
    println!("{report:#?}");
}

#[test]
fn fig6_table2_ranks_table_and_finding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let section = crate::figures::sections_for(Some("sequence_dpo")).remove(0);
    let render = |name: &str, f: Fixture| {
        let path = dir.path().join(name);
        f.write(&path);
        let file = crate::h5::ResultsFile::open(&path).expect("open");
        let cfg = crate::config::Config::of(&file);
        crate::register_fonts();
        section.render(&file, &cfg, &mut crate::figures::FigureDir::new(dir.path()))
    };

    let r = render("fig6_table2.h5", fig6(1.0, &[])).expect("renders");
    assert_eq!(
        stems(&r),
        [
            "fig6_table2_ranks",
            "fig6_table2_ratio_change",
            "fig6_table2_training"
        ]
    );
    for stem in stems(&r) {
        check_png(&dir.path().join(format!("{stem}.png")));
        let svg = std::fs::read_to_string(dir.path().join(format!("{stem}.svg"))).expect("svg");
        assert!(svg.contains("<text"), "{stem}.svg has no text");
    }
    let svg = std::fs::read_to_string(dir.path().join("fig6_table2_ranks.svg")).expect("svg");
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
        r.notes[0].starts_with("In this run the low-value group has the smaller mean rank ("),
        "{:?}",
        r.notes
    );
    assert!(
        r.notes[0].contains("one-sided p = 3.200e-9. A within-run test"),
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
    assert!(r.notes[0].starts_with("This run does NOT show the paper's direction"));
    assert!(
        r.notes[0].contains("(one-sided p for the paper's direction = 9.990e-1). A within-run"),
        "{}",
        r.notes[0]
    );
    let r = render(
        "reversed.h5",
        fig6(-1.0, &[]).without("mann_whitney/p_low_smaller"),
    )
    .expect("p_low_smaller is optional");
    assert!(
        r.notes[0].contains("(one-sided p = 3.200e-9, in the opposite direction). A within-run"),
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
    let section = crate::figures::sections_for(Some("sequence_dpo")).remove(0);
    let path = dir.path().join("fig6_table2_controlled.h5");
    with_lengths(fig6(1.0, &[]), true)
        .attr("config_toml", CONTROLLED)
        .write(&path);
    let file = crate::h5::ResultsFile::open(&path).expect("open");
    let cfg = crate::config::Config::of(&file);
    crate::register_fonts();
    let mut figures = crate::figures::FigureDir::new(dir.path());
    assert_eq!(
        section.title(&file, &cfg),
        "Figure 6 and Table 2: average rank sorting and the Mann–Whitney U test, on synthetic data without the length confound (equal lengths, no echo bonus) (fig6_table2_controlled.h5)"
    );
    let r = section.render(&file, &cfg, &mut figures).expect("renders");
    assert_eq!(
        stems(&r),
        [
            "fig6_table2_controlled_ranks",
            "fig6_table2_controlled_ratio_change",
            "fig6_table2_controlled_training",
            "fig6_table2_controlled_length"
        ]
    );
    // The length figure says what it alone shows; the section's caption does not repeat it.
    assert!(
        r.figures[3]
            .caption
            .contains("ln (21) against len(y_w) − len(y_l)"),
        "{:?}",
        r.figures[3]
    );
    assert!(!r.caption.contains("len(y_w) − len(y_l)"), "{}", r.caption);
    let svg =
        std::fs::read_to_string(dir.path().join("fig6_table2_controlled_length.svg")).expect("svg");
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
    let file = crate::h5::ResultsFile::open(&old).expect("open");
    let r = section.render(&file, &cfg, &mut figures).expect("renders");
    assert_eq!(stems(&r), ["old_ranks", "old_ratio_change", "old_training"]);
    assert_eq!(r.tables.len(), 1);
}

#[test]
fn unreadable_h5_files_are_named_as_problems() {
    let (name, fixture) = fixtures().remove(0);
    let (dir, results) = folder(vec![(name, fixture)]);
    std::fs::write(results.join("empty.h5"), b"").expect("write");
    std::fs::write(results.join("text.h5"), b"not hdf5").expect("write");
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
    assert_eq!(report.sections.len(), 2);
    assert_eq!(report.readable, vec![name.to_string()]);
    assert_eq!(report.unused, ["empty.h5", "text.h5"]);
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).expect("md");
    assert!(
        md.contains("## Results files that could not be read\n\n- empty.h5\n- text.h5"),
        "{md}"
    );
}

#[test]
fn figure_1_draws_the_first_method_of_a_sweep_without_dpo() {
    let a = 4;
    let sweep = Fixture::new("alpha_only", "weight_decay_sweep", &sweep_config())
        .vec("alpha", vec![0.0, 0.01, 0.1, 1.0])
        .vec("fdpo_alpha_0.3/distance", lin(a, 0.0, 0.2))
        .set("fdpo_alpha_0.3/policy", &[a, 3], [0.6, 0.3, 0.1].repeat(a))
        .set(
            "fdpo_alpha_0.3/rlhf_policy",
            &[a, 3],
            [0.5, 0.3, 0.2].repeat(a),
        );
    let (dir, results) = folder(vec![("alpha_only.h5", sweep)]);
    let out = dir.path().join("out");
    let report = build_report(&results, &out).expect("report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    check_figure(&out, "alpha_only_distributions");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("fdpo_alpha_0.3, alpha = 1"),
        "the table names the method drawn"
    );
}

mod sweep;

/// The Figure 2 section's rendering of `fixture`.
fn fig2(fixture: Fixture) -> crate::figures::Rendered {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fig2_weight_decay.h5");
    fixture.write(&path);
    let file = crate::h5::ResultsFile::open(&path).expect("open");
    let cfg = crate::config::Config::of(&file);
    crate::register_fonts();
    crate::figures::sections_for(Some("weight_decay_sweep"))
        .into_iter()
        .find(|s| s.heading().starts_with("Figure 2"))
        .expect("the Figure 2 section")
        .render(&file, &cfg, &mut crate::figures::FigureDir::new(dir.path()))
        .expect("renders")
}

#[test]
fn figure_2_names_losses_without_a_counterpart_and_draws_how_far_each_moves() {
    let a = 4;
    let r = fig2(sweep(&sweep_config(), 1.0).set(
        "sft/policy",
        &[a, 3],
        vec![0.4, 0.4, 0.2, 0.5, 0.3, 0.2, 0.6, 0.3, 0.1, 0.4, 0.4, 0.2],
    ));
    let caption = &r.figures[0].caption;
    assert!(caption.contains("no distance to one: sft"), "{caption}");
    // The counterpart table has no sft column; the movement table has every method.
    assert!(!r.tables[0].header.contains(&"sft".to_string()));
    let moved = &r.tables[1];
    // ‖(0.6, 0.3, 0.1) − (0.4, 0.4, 0.2)‖₂ = √0.06 at alpha = 0.1; dpo never moves.
    assert_eq!(cell(moved, "0.1", "sft"), crate::fmt_num(0.06f64.sqrt()));
    assert_eq!(cell(moved, "1", "sft"), crate::fmt_num(0.0));
    assert_eq!(cell(moved, "0.1", "dpo"), crate::fmt_num(0.0));
    // When every method has a counterpart: one table, as before.
    assert_eq!(fig2(sweep(&sweep_config(), 1.0)).tables.len(), 1);
}
