//! The paper's reference numbers, and the settings they belong to, in one place.
//!
//! A section shows a paper value only for a results file that reproduces the paper item:
//! the file's `kind` is the item's kind and its configuration has the paper's value at
//! every key of the item's setting (the keys the paper fixes for that item). Training
//! budgets (epochs, learning rates) are not part of a setting: the paper reports converged
//! values, and a shorter run is the same experiment, only less converged. Items the paper
//! draws as a sketch or proves in general (Figures 1 and 4, Proposition 3.2) have no keys:
//! every file of their kind reproduces them. Table 2 is the exception: its numbers come from
//! Pythia 2.8B on Anthropic HH, which no configuration here matches, and every
//! `sequence_dpo` section shows them as a labelled reference for the method.

use crate::config::{Config, show};

/// A value the paper fixes for a configuration key.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    /// A number (an integer in the file matches too).
    Number(f64),
    /// A list of numbers.
    Numbers(&'static [f64]),
    /// A list of lists of numbers.
    Rows(&'static [&'static [f64]]),
    /// A string.
    Text(&'static str),
}

/// Relative tolerance of number comparisons (the files store 1/3 as 0.3333333333333334).
const TOLERANCE: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn numbers_match(v: &toml::Value, expected: &[f64]) -> bool {
    v.as_array().is_some_and(|a| {
        a.len() == expected.len()
            && a.iter()
                .zip(expected)
                .all(|(x, e)| number(x).is_some_and(|x| close(x, *e)))
    })
}

impl Expected {
    /// Whether the configuration value `v` is this one.
    pub fn matches(&self, v: &toml::Value) -> bool {
        match self {
            Self::Number(e) => number(v).is_some_and(|x| close(x, *e)),
            Self::Numbers(e) => numbers_match(v, e),
            Self::Rows(rows) => v.as_array().is_some_and(|a| {
                a.len() == rows.len() && a.iter().zip(*rows).all(|(x, e)| numbers_match(x, e))
            }),
            Self::Text(e) => v.as_str() == Some(*e),
        }
    }

    /// The value as the report shows it.
    pub fn show(&self) -> String {
        let list = |v: &[f64]| {
            let items: Vec<String> = v.iter().map(|x| crate::fmt_num(*x)).collect();
            format!("[{}]", items.join(", "))
        };
        match self {
            Self::Number(e) => crate::fmt_num(*e),
            Self::Numbers(e) => list(e),
            Self::Rows(rows) => {
                let items: Vec<String> = rows.iter().map(|r| list(r)).collect();
                format!("[{}]", items.join(", "))
            }
            Self::Text(e) => (*e).to_owned(),
        }
    }
}

/// A key of a setting and the paper's value for it.
pub type Key = (&'static str, Expected);

/// A figure, table or result of the paper that a results file can reproduce.
#[derive(Debug)]
pub struct Item {
    /// How the report names it (`Table 1`).
    pub name: &'static str,
    /// The `kind` root attribute of the results files that reproduce it.
    pub kind: &'static str,
    /// The configuration values the paper fixes for it, in groups shared between items.
    pub setting: &'static [&'static [Key]],
}

impl Item {
    /// `Table 1 (kind thresholding)`.
    pub fn label(&self) -> String {
        format!("{} (kind {})", self.name, self.kind)
    }

    /// Every key of the setting.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.setting.iter().flat_map(|group| group.iter())
    }

    /// Where `cfg` departs from the setting, as `key = value (paper: value)`.
    pub fn differences(&self, cfg: &Config) -> Vec<String> {
        self.keys()
            .filter_map(|(key, expected)| match cfg.get(key) {
                Some(v) if expected.matches(v) => None,
                Some(v) => Some(format!("{key} = {} (paper: {})", show(v), expected.show())),
                None => Some(format!("{key} absent (paper: {})", expected.show())),
            })
            .collect()
    }

    /// Whether a results file of `kind` with configuration `cfg` reproduces this item.
    pub fn reproduced_by(&self, kind: Option<&str>, cfg: &Config) -> bool {
        kind == Some(self.kind) && self.differences(cfg).is_empty()
    }

    /// The caption sentence saying whether `cfg` is the paper's setting for this item, and
    /// where it is not; empty for an item without keys.
    pub fn setting_sentence(&self, cfg: &Config) -> String {
        if self.setting.iter().all(|group| group.is_empty()) {
            return String::new();
        }
        let differences = self.differences(cfg);
        if differences.is_empty() {
            let keys: Vec<&str> = self.keys().map(|(k, _)| *k).collect();
            format!(
                "The configuration is the paper's setting for {} ({}).",
                self.name,
                keys.join(", ")
            )
        } else {
            format!(
                "Not the paper's setting for {}: {}.",
                self.name,
                differences.join("; ")
            )
        }
    }
}

/// One third, as the uniform π_ref over three actions.
const THIRD: f64 = 1.0 / 3.0;
/// The uniform distribution over three actions.
const UNIFORM_3: &[f64] = &[THIRD, THIRD, THIRD];

/// The bandit of Figures 2 and 3 (App. B.1): π* of eq. (26), π_ref of eq. (28), pairs drawn
/// uniformly from the three, softmax logits trained with Adam; λ = 1, the value the
/// appendix's derivations assume.
const BANDIT_B1: &[Key] = &[
    ("bandit.pi_star", Expected::Numbers(&[0.6, 0.3, 0.1])),
    ("bandit.pi_ref", Expected::Numbers(&[0.4, 0.4, 0.2])),
    ("bandit.beta", Expected::Number(1.0)),
    ("data.pairs", Expected::Text("uniform")),
    ("policy.name", Expected::Text("softmax")),
    ("optimizer.name", Expected::Text("adam")),
];

/// θ ∈ [0, 1], kept there by projection (Sections 3.3 and 5.2).
const UNIT_INTERVAL: &[Key] = &[
    ("constraints.interval.lo", Expected::Number(0.0)),
    ("constraints.interval.hi", Expected::Number(1.0)),
];

/// Figure 1: a sketch of the unconstrained and constrained optima; any weight-decay sweep
/// draws it.
pub static FIGURE_1: Item = Item {
    name: "Figure 1",
    kind: "weight_decay_sweep",
    setting: &[],
};

/// Figure 2: distance to the RLHF counterpart against weight decay α (App. B.1).
pub static FIGURE_2: Item = Item {
    name: "Figure 2",
    kind: "weight_decay_sweep",
    setting: &[BANDIT_B1],
};

/// Figure 3: the same bandit with α = 0, over epochs (App. B.1).
pub static FIGURE_3: Item = Item {
    name: "Figure 3",
    kind: "early_stopping",
    setting: &[
        BANDIT_B1,
        &[("constraints.weight_decay.alpha", Expected::Number(0.0))],
    ],
};

/// Figure 4: the penalties log(γ + |u|), closed form for any γ.
pub static FIGURE_4: Item = Item {
    name: "Figure 4",
    kind: "penalty_curves",
    setting: &[],
};

/// Figure 5: one gradient-descent step on loss (20), which assumes λ = 1/2 (Section 5.2).
pub static FIGURE_5: Item = Item {
    name: "Figure 5",
    kind: "one_step",
    setting: &[&[
        ("beta", Expected::Number(0.5)),
        ("optimizer.name", Expected::Text("gd")),
    ]],
};

/// Table 1: loss (20) (λ = 1/2) plus θ², projected gradient descent (Section 5.2, B.2).
pub static TABLE_1: Item = Item {
    name: "Table 1",
    kind: "thresholding",
    setting: &[
        &[
            ("beta", Expected::Number(0.5)),
            ("constraints.weight_decay.alpha", Expected::Number(1.0)),
            ("optimizer.name", Expected::Text("gd")),
        ],
        UNIT_INTERVAL,
    ],
};

/// Mode seeking (Section 3.3): π* = [1/2, 0, 1/2], uniform π_ref, uniform pairs, the convex
/// mixture θ·[1, 0, 0] + (1 − θ)·uniform from θ = 0.5, projected Adam; λ = 1 as in B.1.
pub static MODE_SEEKING: Item = Item {
    name: "Mode seeking",
    kind: "mode_seeking",
    setting: &[
        &[
            ("bandit.pi_star", Expected::Numbers(&[0.5, 0.0, 0.5])),
            ("bandit.pi_ref", Expected::Numbers(UNIFORM_3)),
            ("bandit.beta", Expected::Number(1.0)),
            ("data.pairs", Expected::Text("uniform")),
            ("policy.name", Expected::Text("convex_mixture")),
            (
                "policy.components",
                Expected::Rows(&[UNIFORM_3, &[1.0, 0.0, 0.0]]),
            ),
            ("policy.init", Expected::Number(0.5)),
            ("optimizer.name", Expected::Text("adam")),
        ],
        UNIT_INTERVAL,
    ],
};

/// Proposition 3.2: proved for any π* and ε > 0 (Appendix D).
pub static PROPOSITION_3_2: Item = Item {
    name: "Proposition 3.2",
    kind: "ratio_constraint",
    setting: &[],
};

/// Figure 6 and Table 2 (Section 5.3): the method, whatever the data and model.
pub static FIGURE_6_TABLE_2: Item = Item {
    name: "Figure 6 and Table 2",
    kind: "sequence_dpo",
    setting: &[],
};

/// Every item, in the paper's order.
pub static ITEMS: [&Item; 9] = [
    &FIGURE_1,
    &FIGURE_2,
    &FIGURE_3,
    &FIGURE_4,
    &FIGURE_5,
    &TABLE_1,
    &MODE_SEEKING,
    &PROPOSITION_3_2,
    &FIGURE_6_TABLE_2,
];

/// Table 1: (π_ref ratio, optimised θ), as printed.
pub const TABLE_1_THETA: [(f64, f64); 7] = [
    (0.01, 1.00),
    (0.05, 1.00),
    (0.1, 0.77),
    (0.5, 0.56),
    (1.0, 0.50),
    (5.0, 0.39),
    (10.0, 0.34),
];

/// Table 1's θ for reference ratio `ratio`, if the paper lists that ratio.
pub fn table_1_theta(ratio: f64) -> Option<f64> {
    TABLE_1_THETA
        .iter()
        .find(|(r, _)| close(ratio, *r))
        .map(|(_, theta)| *theta)
}

/// Mode seeking: θ of constrained RLHF (Section 3.3).
pub const MODE_SEEKING_THETA_RLHF: f64 = 1.00;
/// Mode seeking: θ of constrained DPO (Section 3.3).
pub const MODE_SEEKING_THETA_DPO: f64 = 0.44;

/// Table 2 and B.3: pairs per group, n1 = n2 (Pythia 2.8B on Anthropic HH).
pub const TABLE_2_N: f64 = 800.0;
/// Table 2: the U-statistic.
pub const TABLE_2_U: f64 = 225_937.0;
/// Table 2: the one-sided p-value.
pub const TABLE_2_P: f64 = 1.22e-24;
/// B.3: the rank sums R1, R2 of the low- and high-value groups.
pub const TABLE_2_RANK_SUMS: (f64, f64) = (546_337.0, 734_463.0);

/// Table 2's z-score from its U, eq. (30), with n1 = n2 = 800 and no tie correction.
pub fn table_2_z() -> f64 {
    let nn = TABLE_2_N * TABLE_2_N;
    (TABLE_2_U - nn / 2.0) / (nn * (2.0 * TABLE_2_N + 1.0) / 12.0).sqrt()
}
