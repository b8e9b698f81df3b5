//! Average ranks and the Mann–Whitney U test (App. B.3) on random tied samples, checked by
//! the independent scipy oracle `tests/oracle/rank_oracle.py`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};
use workbench::analysis::mann_whitney::{group_ranks, mann_whitney};

const ORACLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/oracle/rank_oracle.py"
);

/// `len` values uniform on [shift, shift + width), rounded to `decimals` places so that
/// ties are common (about `width·10^decimals` distinct values).
fn sample(rng: &mut ChaCha8Rng, len: usize, shift: f64, width: f64, decimals: i32) -> Vec<f64> {
    let scale = 10f64.powi(decimals);
    (0..len)
        .map(|_| ((shift + width * rng.random::<f64>()) * scale).round() / scale)
        .collect()
}

/// One case in the oracle's JSON layout, from the workbench's own results.
fn case(group1: &[f64], group2: &[f64], tie_correction: bool) -> Value {
    let (ranks1, ranks2) = group_ranks(group1, group2);
    let t = mann_whitney(group1, group2, tie_correction);
    assert!(
        t.z <= 0.0 && t.p_value <= 0.5,
        "U = min(U1, U2) is in the lower tail"
    );
    assert_eq!(t.u1 + t.u2, (group1.len() * group2.len()) as f64);
    json!({
        "group1": group1,
        "group2": group2,
        "tie_correction": tie_correction,
        "ranks1": ranks1,
        "ranks2": ranks2,
        "u": t.u,
        "u1": t.u1,
        "z": t.z,
        "p_value": t.p_value,
    })
}

/// A file name no other test run uses at the same time.
fn temp_file(stem: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    std::env::temp_dir().join(format!("{stem}_{}_{nanos}.json", std::process::id()))
}

fn oracle_check(path: &Path) {
    let output = Command::new("python3")
        .args([ORACLE, "check", &path.display().to_string()])
        .output()
        .expect("python3 runs (scripts/setup.sh --tests installs numpy, scipy)");
    assert!(
        output.status.success(),
        "rank oracle disagrees with {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn random_tied_samples_match_the_scipy_oracle() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_240_503);
    let mut cases = Vec::new();
    // (n1, n2, shift of group 1, shift of group 2, width, decimals)
    let shapes = [
        (5, 9, 0.0, 0.0, 1.0, 1),     // tiny, heavy ties
        (37, 112, 0.0, 0.4, 2.0, 1),  // group 1 smaller
        (150, 61, 0.6, 0.0, 2.0, 1),  // group 1 larger
        (200, 180, 0.0, 1.5, 3.0, 1), // far apart: p ~ 1e-35
        (88, 120, 0.0, 0.0, 0.3, 1),  // only four distinct values
        (64, 73, 0.0, 0.2, 1.0, 12),  // (almost surely) no ties
    ];
    for (n1, n2, shift1, shift2, width, decimals) in shapes {
        let group1 = sample(&mut rng, n1, shift1, width, decimals);
        let group2 = sample(&mut rng, n2, shift2, width, decimals);
        for tie_correction in [true, false] {
            cases.push(case(&group1, &group2, tie_correction));
        }
    }
    let path = temp_file("rank_oracle");
    let doc = json!({ "cases": cases, "tol": 1e-9 });
    std::fs::write(&path, doc.to_string()).expect("write oracle input");
    oracle_check(&path);
    std::fs::remove_file(&path).expect("remove oracle input");
}

#[test]
fn swapping_the_groups_swaps_u1_and_u2_and_keeps_u_and_p() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = sample(&mut rng, 45, 0.0, 1.0, 1);
    let b = sample(&mut rng, 30, 0.3, 1.0, 1);
    for tie_correction in [true, false] {
        let ab = mann_whitney(&a, &b, tie_correction);
        let ba = mann_whitney(&b, &a, tie_correction);
        assert_eq!((ab.u1, ab.u2), (ba.u2, ba.u1));
        assert_eq!((ab.u, ab.z, ab.p_value), (ba.u, ba.z, ba.p_value));
    }
}
