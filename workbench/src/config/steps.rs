//! The keys of a step's learning constraints, shared by `[optimizer]` (the bandit kinds)
//! and `[sft]` / `[dpo]` (`sequence_dpo`): `schedule = { decay, warmup_steps |
//! warmup_ratio, floor }`, `max_norm` and `accumulation`.

use super::validate::check;
use crate::error::ConfigError;
use crate::optim::{Decay, LrSchedule, StepRules, Warmup};
use serde::{Deserialize, Serialize};

/// `schedule = { ... }`: the learning rate over a phase's steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSection {
    /// `constant`, `linear` or `cosine`.
    pub decay: Decay,
    /// Warmup steps (from 0 to `lr`).
    pub warmup_steps: usize,
    /// Warmup as a fraction of the phase's steps, rounded up (instead of `warmup_steps`).
    pub warmup_ratio: f64,
    /// The fraction of `lr` the decay ends at.
    pub floor: f64,
}

/// The keys under `section`, checked: at most one warmup key, ratios in [0, 1], a positive
/// `max_norm`, at least one micro-batch a step.
pub fn step_rules(
    section: &str,
    schedule: &ScheduleSection,
    max_norm: f64,
    accumulation: usize,
) -> Result<StepRules, ConfigError> {
    let key = |name: &str| format!("{section}.{name}");
    let ratio = schedule.warmup_ratio;
    check(
        ratio.is_finite() && (0.0..=1.0).contains(&ratio),
        &key("schedule.warmup_ratio"),
        ratio,
        "must lie in [0, 1]",
    )?;
    check(
        ratio == 0.0 || schedule.warmup_steps == 0,
        &key("schedule.warmup_ratio"),
        ratio,
        "and schedule.warmup_steps are two ways of saying one thing: give one",
    )?;
    check(
        schedule.floor.is_finite() && (0.0..=1.0).contains(&schedule.floor),
        &key("schedule.floor"),
        schedule.floor,
        "must lie in [0, 1] (a fraction of lr)",
    )?;
    check(
        max_norm > 0.0,
        &key("max_norm"),
        max_norm,
        "must be > 0 (inf: no clipping)",
    )?;
    check(
        accumulation >= 1,
        &key("accumulation"),
        accumulation,
        "must be at least 1",
    )?;
    let warmup = if ratio > 0.0 {
        Warmup::Ratio(ratio)
    } else {
        Warmup::Steps(schedule.warmup_steps)
    };
    Ok(StepRules {
        schedule: LrSchedule {
            warmup,
            decay: schedule.decay,
            floor: schedule.floor,
        },
        max_norm,
        accumulation,
    })
}
