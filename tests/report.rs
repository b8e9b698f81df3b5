//! The report end to end: results made by the workbench, the report built from them, every
//! figure a real non-blank image, every link resolving, the page rendered by a real headless
//! browser; `reproduce` reusing up-to-date results and naming failures.

mod common;

use common::{repo, small_results, workbench};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Decodes a PNG and returns the variance of its pixel bytes (0 for a blank image).
fn png_variance(path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open png"),
    ));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buffer = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let bytes = &buffer[..info.buffer_size()];
    let mean = bytes.iter().map(|&b| b as f64).sum::<f64>() / bytes.len() as f64;
    bytes
        .iter()
        .map(|&b| (b as f64 - mean).powi(2))
        .sum::<f64>()
        / bytes.len() as f64
}

/// Every `src="…"` and `href="…"` of the page that is a local file.
fn local_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            let link = piece.split('"').next().unwrap_or_default();
            if !link.is_empty()
                && !link.starts_with('#')
                && !link.starts_with("data:")
                && !link.contains("://")
            {
                links.push(link.to_string());
            }
        }
    }
    links
}

#[test]
fn report_from_workbench_results_is_complete_and_renders_in_a_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results");
    let report = dir.path().join("report");
    small_results(&results);
    let output = workbench(&[
        "report",
        &results.display().to_string(),
        "--out",
        &report.display().to_string(),
    ]);
    assert_ok(&output, "workbench report");

    let html = std::fs::read_to_string(report.join("report.html")).expect("report.html");
    assert!(report.join("report.md").exists());
    for link in local_links(&html) {
        assert!(
            report.join(&link).exists(),
            "report.html links to missing {link}"
        );
    }
    let mut pngs = 0;
    for entry in std::fs::read_dir(&report).expect("report dir") {
        let path = entry.expect("entry").path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => {
                pngs += 1;
                let variance = png_variance(&path);
                assert!(
                    variance > 10.0,
                    "{} looks blank (variance {variance})",
                    path.display()
                );
            }
            Some("svg") => {
                let svg = std::fs::read_to_string(&path).expect("svg");
                assert!(
                    svg.contains("<svg") && svg.contains("</svg>"),
                    "{} is not an SVG",
                    path.display()
                );
            }
            _ => {}
        }
    }
    assert!(pngs >= 6, "only {pngs} figures");

    let profile = dir.path().join("chromium-profile");
    let shot = dir.path().join("shot.png");
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            &format!("file://{}", report.join("report.html").display()),
        ])
        .output()
        .expect("chromium runs (scripts/setup.sh --tests installs Debian's chromium)");
    assert_ok(&output, "chromium --headless --screenshot");
    let variance = png_variance(&shot);
    assert!(
        variance > 10.0,
        "the browser screenshot is blank ({variance})"
    );
}

#[test]
fn a_missing_dataset_is_named_and_the_other_figures_are_still_drawn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results");
    small_results(&results);
    let broken = results.join("fig5_one_step.h5");
    let script = "import h5py, sys\nf = h5py.File(sys.argv[1], 'a')\ndel f['relative_decrease']\n";
    let status = Command::new("python3")
        .args(["-c", script, &broken.display().to_string()])
        .status()
        .expect("python3");
    assert!(status.success());
    let report = dir.path().join("report");
    let output = workbench(&[
        "report",
        &results.display().to_string(),
        "--out",
        &report.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fig5_one_step.h5") && stderr.contains("relative_decrease"),
        "the problem should name the file and the dataset: {stderr}"
    );
    assert!(
        report.join("fig2_weight_decay.png").exists(),
        "other figures must still be drawn"
    );
}

fn experiments_folder(dir: &Path, bad: bool) -> PathBuf {
    let folder = dir.join("experiments");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for name in ["fig4_penalty_curves", "fig5_one_step"] {
        std::fs::copy(
            repo(&format!("experiments/{name}.toml")),
            folder.join(format!("{name}.toml")),
        )
        .expect("copy");
    }
    if bad {
        std::fs::write(
            folder.join("broken.toml"),
            "name = \"broken\"\nkind = \"one_step\"\npoints = -3\n",
        )
        .expect("write");
    }
    folder
}

#[test]
fn reproduce_reuses_up_to_date_results_and_names_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = experiments_folder(dir.path(), false);
    let (out, report) = (dir.path().join("results"), dir.path().join("report"));
    let args = |force: bool| {
        let mut args = vec![
            "reproduce".to_string(),
            "--experiments".into(),
            folder.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--report".into(),
            report.display().to_string(),
        ];
        if force {
            args.push("--force".into());
        }
        args
    };
    let run = |force: bool| {
        let args = args(force);
        workbench(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = run(false);
    assert_ok(&first, "reproduce");
    assert!(report.join("report.html").exists());
    let second = String::from_utf8_lossy(&run(false).stderr).into_owned();
    assert_eq!(second.matches("reusing").count(), 2, "{second}");
    let forced = String::from_utf8_lossy(&run(true).stderr).into_owned();
    assert_eq!(forced.matches("reusing").count(), 0, "{forced}");

    let bad = tempfile::tempdir().expect("temp dir");
    let folder = experiments_folder(bad.path(), true);
    let out = bad.path().join("results");
    let output = workbench(&[
        "reproduce",
        "--experiments",
        &folder.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--report",
        &bad.path().join("report").display().to_string(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(out.join("fig4_penalty_curves.h5").exists() && out.join("fig5_one_step.h5").exists());
}

/// Experiments renamed or written from scratch, and a file of a kind no section knows, each
/// get their own figures, named after their results file.
#[test]
fn every_file_gets_figures_whatever_its_name_or_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results");
    for experiment in common::BANDIT_EXPERIMENTS {
        common::run_small(&results, experiment, &[&format!("name=my_{experiment}")]);
    }
    let study = repo("experiments/examples/fdpo_mixture_study.toml");
    let out = results.display().to_string();
    assert_ok(
        &workbench(&["run", &study, "--out", &out, "--quiet"]),
        "the example study",
    );
    let plugin_like = results.join("plugin_kind.h5");
    let script = "import h5py, sys, numpy as np\n\
        f = h5py.File(sys.argv[1], 'w')\n\
        f.attrs['kind'] = 'my_plugin_kind'\n\
        f.attrs['experiment'] = 'plugin_kind'\n\
        f.attrs['config_toml'] = 'name = \"plugin_kind\"\\nkind = \"my_plugin_kind\"\\n'\n\
        f['curves/loss'] = np.exp(-np.linspace(0, 5, 50))\n\
        f['curves/accuracy'] = 1 - np.exp(-np.linspace(0, 3, 50))\n";
    let status = Command::new("python3")
        .args(["-c", script, &plugin_like.display().to_string()])
        .status()
        .expect("python3");
    assert!(status.success());

    let report = dir.path().join("report");
    let output = workbench(&["report", &out, "--out", &report.display().to_string()]);
    assert_ok(&output, "workbench report");
    let pngs: Vec<String> = std::fs::read_dir(&report)
        .expect("report dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    let html = std::fs::read_to_string(report.join("report.html")).expect("report.html");
    for entry in std::fs::read_dir(&results).expect("results") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix(".h5") else {
            continue;
        };
        let figures: Vec<&String> = pngs.iter().filter(|p| p.starts_with(stem)).collect();
        assert!(!figures.is_empty(), "{name} has no figure: {pngs:?}");
        for figure in figures {
            assert!(
                png_variance(&report.join(figure)) > 10.0,
                "{figure} is blank"
            );
        }
        assert!(html.contains(&name), "the report does not name {name}");
    }
    // The study's legend names both settings of each loss.
    for label in [
        "fdpo_alpha_0.3",
        "fdpo_alpha_0.7",
        "robust_eps_0.1",
        "robust_eps_0.3",
    ] {
        assert!(html.contains(label), "the study's legend lacks {label}");
    }
}
