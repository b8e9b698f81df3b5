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
    ]
}

const FIGURES: &[&str] = &[
    "fig1_distributions",
    "fig2_weight_decay",
    "fig3_early_stopping",
    "fig4_penalty_curves",
    "fig5_one_step",
    "table1_trajectories",
    "mode_seeking",
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
    assert_eq!(report.sections.len(), 8);
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
    assert_eq!(report.missing.len(), 7);
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
